"""Every word the digest and the archive say themselves, in English and Norwegian (bokmål).

Templates ask for a string by key through `t(key, **values)`; a missing key is a bug and raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

STRINGS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "digest_title": "News digest",
        "greeting": "Hello {name},",
        "in_this_issue": "In this issue",
        "also_reported_by": "Also reported by",
        "trial_registry": "Trial registry",
        "member_submissions": "From our members",
        "events": "Events",
        "why_you_receive": (
            "You receive this email because you subscribed to the {brand} news digest."
        ),
        "sent_to": "This copy was sent to {email}.",
        "manage_preferences": "Manage preferences",
        "unsubscribe": "Unsubscribe",
        "view_in_browser": "View in browser",
        "preheader_count": "{count} stories this time: {first}",
        "preheader_empty": "The latest news from {brand}",
        "archive_title": "Past digests",
        "archive_intro": "Every digest {brand} has sent, newest first.",
        "archive_back": "All digests",
        "archive_feed": "Atom feed",
        "item_count_one": "1 story",
        "item_count": "{count} stories",
        "no_title": "(untitled)",
    },
    "no": {
        "digest_title": "Nyhetsbrev",
        "greeting": "Hei {name},",
        "in_this_issue": "I denne utgaven",
        "also_reported_by": "Også omtalt av",
        "trial_registry": "Studieregister",
        "member_submissions": "Fra medlemmene",
        "events": "Arrangementer",
        "why_you_receive": (
            "Du får denne e-posten fordi du abonnerer på nyhetsbrevet fra {brand}."
        ),
        "sent_to": "Denne kopien ble sendt til {email}.",
        "manage_preferences": "Endre innstillinger",
        "unsubscribe": "Meld deg av",
        "view_in_browser": "Vis i nettleseren",
        "preheader_count": "{count} saker denne gangen: {first}",
        "preheader_empty": "Siste nytt fra {brand}",
        "archive_title": "Tidligere nyhetsbrev",
        "archive_intro": "Alle nyhetsbrev fra {brand}, nyeste først.",
        "archive_back": "Alle nyhetsbrev",
        "archive_feed": "Atom-feed",
        "item_count_one": "1 sak",
        "item_count": "{count} saker",
        "no_title": "(uten tittel)",
    },
}

# The HTML `lang` and the Babel locale of each digest language: Norwegian is written in bokmål.
HTML_LANG: Final[dict[str, str]] = {"en": "en", "no": "nb"}
BABEL_LOCALE: Final[dict[str, str]] = {"en": "en_GB", "no": "nb_NO"}


def translator(language: str) -> Callable[..., str]:
    """`t(key, **values)` in `language` (English when the language is unknown)."""
    table = STRINGS.get(language, STRINGS["en"])

    def t(key: str, **values: object) -> str:
        return table[key].format(**values) if values else table[key]

    return t


def item_count(language: str, count: int) -> str:
    t = translator(language)
    return t("item_count_one") if count == 1 else t("item_count", count=count)
