"""Items that name a member organisation are linked to it (names and aliases from config)."""

from __future__ import annotations

from pipeline.curate.members import MemberMatcher, link_members, member_names, members_from_sources
from pipeline.types import Source

MEMBERS = (
    ("nykode", ("Nykode Therapeutics", "Nykode", "Vaccibody")),
    ("kreftforeningen", ("Kreftforeningen", "Norwegian Cancer Society")),
    ("ous", ("Oslo University Hospital", "OUS", "Radiumhospitalet")),
    ("exact-therapeutics", ("EXACT Therapeutics",)),
)


def test_names_and_aliases_link_members_in_config_order() -> None:
    text = "Radiumhospitalet and Vaccibody start a trial; the Norwegian Cancer Society welcomes it."
    assert link_members(text, MEMBERS) == ("nykode", "kreftforeningen", "ous")


def test_norwegian_genitive_and_english_possessive() -> None:
    assert link_members("Kreftforeningens generalsekretær er skuffet", MEMBERS) == ("kreftforeningen",)
    assert link_members("Nykode's vaccine platform", MEMBERS) == ("nykode",)


def test_acronym_names_are_case_sensitive_tokens_and_names_need_a_capital() -> None:
    assert link_members("Patients at OUS were included", MEMBERS) == ("ous",)
    assert link_members("a house in the woods; thous; ous", MEMBERS) == ()
    assert link_members("an exact therapeutics approach", MEMBERS) == ()
    assert link_members("Results from EXACT Therapeutics", MEMBERS) == ("exact-therapeutics",)


def test_matcher_links_across_several_texts() -> None:
    matcher = MemberMatcher(MEMBERS)
    assert matcher.link("Nykode doses patient", "at Oslo University Hospital") == ("nykode", "ous")


def test_member_names_from_sources() -> None:
    ous = Source(
        id="ous",
        name="Oslo University Hospital (Oslo universitetssykehus), incl. Radiumhospitalet",
        kind="page",
        url="https://example.org",
        member=True,
        aliases=("OUS",),
    )
    assert member_names(ous) == (
        "Oslo University Hospital (Oslo universitetssykehus), incl. Radiumhospitalet",
        "Oslo University Hospital",
        "Oslo universitetssykehus",
        "OUS",
    )
    press = Source(
        id="nykode-press",
        name="Nykode Therapeutics",
        kind="feed",
        url="https://example.org/a",
        member=True,
        member_id="nykode",
        aliases=("Vaccibody",),
    )
    media = Source(id="dagens-medisin", name="Dagens Medisin", kind="feed", url="https://example.org/b")
    assert members_from_sources([ous, press, media])[1] == ("nykode", ("Nykode Therapeutics", "Vaccibody"))
    assert len(members_from_sources([ous, press, media])) == 2
