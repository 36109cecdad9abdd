"""Premailer behind one function: CSS moved into `style` attributes, media queries kept in a `<style>`.

Email clients (Gmail, Outlook) drop or ignore most `<style>` rules, so every plain rule is inlined. What
cannot be inlined, the mobile and dark-mode media queries, stays in one `<style>` block, and premailer
marks its declarations `!important` so they beat the inlined styles in clients that honour them.

Premailer runs once per digest or segment (about 30 ms), never once per recipient: personal values are
written into the inlined HTML afterwards (see `personalise.py`).
"""

from __future__ import annotations

import logging

import cssutils
from premailer import Premailer

from ..errors import RenderError

log = logging.getLogger(__name__)

_cssutils_routed = False


def _route_cssutils_logging() -> None:
    """Send cssutils' messages to `logging` instead of its own stderr handler.

    cssutils ships a logger with a StreamHandler on stderr and complains loudly about CSS it does not
    know (`mso-` properties, newer media features). The messages belong in the log; a NullHandler keeps
    Python's last-resort handler from printing them when the application configured no logging.
    """
    global _cssutils_routed
    if _cssutils_routed:
        return
    css_log = logging.getLogger("pipeline.render.cssutils")
    css_log.addHandler(logging.NullHandler())
    cssutils.log.setLog(css_log)
    _cssutils_routed = True


def inline_css(html: str) -> str:
    """`html` with its `<style>` rules inlined; only media queries are left in a `<style>` block."""
    _route_cssutils_logging()
    try:
        inliner = Premailer(
            base_url=None,  # links are absolute already; premailer must not rewrite them
            disable_link_rewrites=True,
            keep_style_tags=False,  # leave only what cannot be inlined: the media queries
            strip_important=False,  # media-query rules need their !important to win over inline styles
            exclude_pseudoclasses=True,
            remove_classes=False,  # the media queries select by class
            allow_network=False,  # never fetch a stylesheet named in the document
            allow_loading_external_files=False,
            disable_validation=True,  # cssutils' validator rejects mso- and newer properties
            cache_css_parsing=True,
            # Templates set width and height attributes themselves; premailer would copy "height: auto"
            # from CSS into an invalid height="auto" attribute.
            disable_basic_attributes=["width", "height"],
        )
        return str(inliner.transform(html, pretty_print=False))
    except Exception as exc:  # premailer/lxml/cssutils raise many kinds; name the stage for a person
        raise RenderError(f"CSS inlining failed: {type(exc).__name__}: {exc}") from exc
