"""Premailer behind one function: rules inlined, media queries kept, its complaints in the log only."""

from __future__ import annotations

import logging

from bs4 import BeautifulSoup

from pipeline.render.inline import inline_css

BROKEN_CSS = """<!DOCTYPE html><html lang="en"><head><style>
.a { color: #123456; width: calc(; }
</style></head><body><p class="a">x</p></body></html>"""


def test_rules_are_inlined_and_media_queries_kept_with_important():
    html = """<!DOCTYPE html><html><head><style>
    .a { color: #123456; }
    @media (max-width: 480px) { .a { color: #654321; } }
    </style></head><body><p class="a"><a href="https://example.org/x?a=1&b=2">x</a></p></body></html>"""
    doc = BeautifulSoup(inline_css(html), "lxml")
    assert doc.find("p")["style"] == "color:#123456"
    css = doc.find("style").string
    assert "@media (max-width: 480px)" in css and "color: #654321 !important" in css
    assert doc.find("a")["href"] == "https://example.org/x?a=1&b=2"  # links are not rewritten


def test_cssutils_complaints_go_to_the_log_not_the_terminal(capfd, caplog):
    with caplog.at_level(logging.DEBUG, logger="pipeline.render.cssutils"):
        inline_css(BROKEN_CSS)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert any(r.name == "pipeline.render.cssutils" for r in caplog.records)
