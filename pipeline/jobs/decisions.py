"""Editors' decisions about items: checked, stored as such, and applied at once (re-curation re-applies
them every time, see curate.apply_editor_decisions)."""

from __future__ import annotations

from dataclasses import replace

from pipeline.errors import DecisionError, NotFound
from pipeline.jobs.curate import GROUP_WINDOW, recurate, regroup
from pipeline.jobs.services import Services
from pipeline.types import Curation, EditorAction, EditorDecision


def decide(svc: Services, decision: EditorDecision) -> Curation:
    """Store an editor's decision and re-curate the item at once, so the decision shows everywhere.

    A decision that cannot apply (an unknown item or theme, a story that does not exist) is refused
    before anything is stored."""
    now = svc.clock()
    item = svc.store.items.get(decision.item_id)
    if item is None:
        raise NotFound(f"no item with id {decision.item_id}")
    _check_decision(svc, decision)
    svc.store.curations.add_decision(replace(decision, at=decision.at or now), now)
    curation = recurate(svc, item, now)
    if decision.action in ("merge", "split"):
        regroup(svc, since=item.published - GROUP_WINDOW, until=item.published + GROUP_WINDOW)
    return curation


#: The decisions that take a value: a theme id, a reason (optional), a group key.
_VALUED_ACTIONS = frozenset({"add_theme", "remove_theme", "mark_noise", "merge"})


#: The longest value and editor's name a decision stores (the columns' sizes): a reason for noise is a
#: short note, an editor is named by an email address.
MAX_VALUE_CHARS = 200
MAX_EDITOR_CHARS = 320


def _check_decision(svc: Services, decision: EditorDecision) -> None:
    action, value = decision.action, decision.value
    if value and len(value) > MAX_VALUE_CHARS:
        raise DecisionError(f"the reason is {len(value)} characters long; at most {MAX_VALUE_CHARS} are kept")
    if len(decision.editor) > MAX_EDITOR_CHARS:
        raise DecisionError(f"the editor's name is longer than {MAX_EDITOR_CHARS} characters")
    if action in ("add_theme", "remove_theme"):
        themes = [t.id for t in svc.config.themes]
        if value not in themes:
            raise DecisionError(f"unknown theme '{value or ''}'; the themes are {', '.join(themes)}")
    elif action == "merge":
        if not value or not svc.store.curations.group_members([value]):
            raise DecisionError(f"no story has the group key '{value or ''}' to merge into")
    elif value and action not in _VALUED_ACTIONS:
        raise DecisionError(f"'{action}' takes no value (given '{value}')")


#: Editors' decisions as the command line and the review page name them.
DECISION_WORDS: dict[str, EditorAction] = {
    "add-theme": "add_theme",
    "remove-theme": "remove_theme",
    "noise": "mark_noise",
    "not-noise": "unmark_noise",
    "include": "include",
    "pin": "pin",
    "unpin": "unpin",
    "merge": "merge",
    "split": "split",
}


def decide_in_words(svc: Services, item_id: int, word: str, value: str | None, *, editor: str) -> Curation:
    """`decide`, with the decision named as an editor names it (DECISION_WORDS): `add-theme THEME`,
    `noise [REASON]`, `merge OTHER_ITEM_ID` (join that item's story), `pin`..."""
    action = DECISION_WORDS.get(word)
    if action is None:
        raise DecisionError(f"unknown decision '{word}'; the decisions are {', '.join(DECISION_WORDS)}")
    value = (value or "").strip() or None
    if action in ("add_theme", "remove_theme") and value is None:
        raise DecisionError(f"{word} needs the theme")
    if action == "merge":
        if value is None:
            raise DecisionError("merge needs the id of the item whose story to join")
        value = value.removeprefix("#")  # as the review page shows ids
        if not value.isdigit():
            raise DecisionError(f"merge takes the id of another item, not '{value}'")
        value = story_of(svc, int(value))
    return decide(svc, EditorDecision(item_id=item_id, action=action, value=value, editor=editor))


def story_of(svc: Services, item_id: int) -> str:
    """The group key of an item's story: what a merge into that story stores."""
    key = svc.store.curations.groups([item_id]).get(item_id)
    if key is not None:
        return key
    if svc.store.items.get(item_id) is None:
        raise NotFound(f"no item with id {item_id}")
    raise DecisionError(f"item {item_id} is not curated yet: run `python run.py curate` first")
