"""Link items to the member organisations they name (names and aliases from config)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from pipeline.curate.themes import Mode, TermIndex, term_mode
from pipeline.types import Source

MemberNames = tuple[tuple[str, tuple[str, ...]], ...]

_PARENTHESIS = re.compile(r"\s*\(([^)]*)\)")


def member_names(source: Source) -> tuple[str, ...]:
    """The names a member source's organisation goes by: its name, the name without a parenthesis,
    the parenthesised name when it is one ("Cancer Registry of Norway (Kreftregisteret)"), and aliases."""
    names = [source.name]
    inner = _PARENTHESIS.findall(source.name)
    bare = _PARENTHESIS.sub("", source.name).split(",")[0].strip()
    if bare:
        names.append(bare)
    names.extend(i.strip() for i in inner if i.strip() and "," not in i and len(i.split()) <= 4)
    names.extend(source.aliases)
    return tuple(dict.fromkeys(n for n in names if n))


def members_from_sources(sources: Sequence[Source]) -> MemberNames:
    """(member id, names) for every member source; several sources of one member share its id."""
    merged: dict[str, list[str]] = {}
    for source in sources:
        if not source.member:
            continue
        merged.setdefault(source.member_id or source.id, []).extend(member_names(source))
    return tuple((mid, tuple(dict.fromkeys(names))) for mid, names in merged.items())


class MemberMatcher:
    """Compiled member names. Names match as whole words with a capital first letter (a genitive -s is
    allowed: "Nykodes", "Kreftforeningens"); names in capitals ("OUS", "NTNU") are case-sensitive tokens."""

    def __init__(self, members: Sequence[tuple[str, Sequence[str]]]) -> None:
        self.ids = tuple(mid for mid, _ in members)
        #: (name, mode, member index) of every name.
        self.entries: list[tuple[str, Mode, int]] = []
        for i, (_mid, names) in enumerate(members):
            for name in names:
                mode: Mode = "acronym" if term_mode(name, "en") == "acronym" else "name"
                self.entries.append((name, mode, i))
        self._index = TermIndex(self.entries)

    def link(self, *texts: str) -> tuple[str, ...]:
        """Members named in any of the texts."""
        found: set[int] = set()
        for text in texts:
            found |= self._index.find(text)
        return self.link_found(found)

    def link_found(self, found: set[int]) -> tuple[str, ...]:
        return tuple(self.ids[i] for i in sorted(found))


@lru_cache(maxsize=8)
def _compiled(members: MemberNames) -> MemberMatcher:
    return MemberMatcher(members)


def member_matcher(members: Sequence[tuple[str, Sequence[str]]] | MemberMatcher) -> MemberMatcher:
    """A compiled matcher for these members (compiled once per distinct list)."""
    if isinstance(members, MemberMatcher):
        return members
    return _compiled(tuple((mid, tuple(names)) for mid, names in members))


def link_members(text: str, members: Sequence[tuple[str, Sequence[str]]] | MemberMatcher) -> tuple[str, ...]:
    """Ids of the members named in `text`, in configuration order."""
    return member_matcher(members).link(text)
