"""sources.yaml validation: every error names the file, the line, the source id and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import check_environment, load_config, parse_config
from pipeline.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
settings:
  public_url: https://news.example.org
  http: {workers: 4, allow_private: ["127.0.0.1:8080"]}
sources:
  - id: nykode
    name: Nykode Therapeutics
    member: true
    kind: feed
    url: https://example.org/news/feed
    language: en
  - id: occ-news
    name: Oslo Cancer Cluster
    kind: page
    url: https://example.org/news
    language: no
    selectors: {item: "article", title: "h2", link: "a", date: "time", summary: "p"}
themes:
  immuno-oncology:
    label: Immuno-oncology
    terms: {en: [immunotherapy, CAR-T], no: [immunterapi]}
"""


def test_the_shipped_sources_yaml_is_valid_and_lists_real_members() -> None:
    config = load_config(ROOT / "sources.yaml")
    ids = {s.id for s in config.sources}
    assert {"occ", "kreftforeningen", "forskningsradet", "nykode"} <= ids
    assert len(config.sources) >= 40
    assert {t.id for t in config.themes} >= {"immuno-oncology", "eu-projects"}
    assert all(s.kind != "page" or s.selectors for s in config.sources)
    assert config.settings.http.allow_private == ()


def test_good_config_is_read_into_values() -> None:
    config = parse_config(GOOD, file="x.yaml")
    nykode, occ = config.sources
    assert (nykode.kind, nykode.member, nykode.language) == ("feed", True, "en")
    # `no` is the Norwegian language code here, not YAML 1.1's boolean false
    assert occ.language == "no"
    assert occ.selectors is not None and occ.selectors.item == "article"
    assert config.settings.http.workers == 4
    assert config.settings.http.allow_private == ("127.0.0.1:8080",)
    assert config.themes[0].terms.no == ("immunterapi",)
    assert [m.id for m in config.members] == ["nykode"]


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text, file="sources.yaml")
    return info.value


def test_unknown_key_names_line_source_and_fix() -> None:
    err = _error(GOOD.replace("    language: en\n", "    langauge: en\n"))
    assert err.line == 10 and err.source_id == "nykode"
    assert "unknown key 'langauge'" in str(err) and "language" in (err.fix or "")
    assert str(err).startswith("sources.yaml:10: source 'nykode':")


def test_duplicate_id_points_at_the_second_and_the_first() -> None:
    err = _error(GOOD.replace("id: occ-news", "id: nykode"))
    assert err.line == 11 and "duplicate source id (first at line 5)" in str(err)


def test_bad_url() -> None:
    err = _error(GOOD.replace("https://example.org/news/feed", "example.org/feed"))
    assert err.source_id == "nykode" and err.line == 9 and "bad URL" in str(err) and "https://" in str(err)


def test_page_source_without_selectors() -> None:
    text = GOOD.replace(
        '    selectors: {item: "article", title: "h2", link: "a", date: "time", summary: "p"}\n', ""
    )
    err = _error(text)
    assert err.source_id == "occ-news" and "without selectors" in str(err) and "selectors:" in (err.fix or "")


def test_unknown_theme_on_a_source() -> None:
    err = _error(GOOD.replace("    language: en\n", "    language: en\n    themes: [immuno-onkology]\n"))
    assert "unknown theme 'immuno-onkology'" in str(err) and "immuno-oncology" in (err.fix or "")


def test_several_problems_are_reported_together() -> None:
    text = GOOD.replace("kind: feed", "kind: rss").replace("https://example.org/news\n", "ftp://x\n")
    err = _error(text)
    message = str(err)
    assert message.startswith("2 problems:")
    assert "unknown kind 'rss'" in message and "bad URL 'ftp://x'" in message


def test_invalid_yaml_names_the_line() -> None:
    err = _error("settings:\n  public_url: [unclosed\nsources: []\n")
    assert err.line is not None and "not valid YAML" in str(err)


def test_secret_in_the_file_is_refused() -> None:
    text = GOOD.replace(
        "settings:\n", "settings:\n  delivery:\n    mailgun: {domain: mg.example.org, api_key: abc}\n"
    )
    err = _error(text)
    assert "looks like a secret" in str(err) and "environment" in (err.fix or "")


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config("/nonexistent/sources.yaml")


def test_environment_check_names_missing_secrets() -> None:
    config = parse_config(GOOD.replace("settings:\n", "settings:\n  delivery: {provider: mailgun}\n"))
    warnings = check_environment(config, env={})
    assert any("PIPELINE_SECRET_KEY" in w for w in warnings)
    assert any("MAILGUN_API_KEY" in w for w in warnings)
    assert check_environment(config, env={"PIPELINE_SECRET_KEY": "x" * 32, "MAILGUN_API_KEY": "k"}) == []


def test_a_misspelt_schedule_is_an_error_with_the_fix() -> None:
    text = GOOD.replace(
        "settings:\n", 'settings:\n  digest: {send_day: thurday, send_time: "9am", cadence: weakly}\n'
    )
    message = str(_error(text))
    assert "send_day 'thurday' is not a weekday" in message
    assert "send_time '9am' is not a time" in message and "HH:MM" in message
    assert "cadence 'weakly' is unknown" in message
