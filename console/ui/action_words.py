"""The words of a write action on screen: "cancelling…", "3 cancelled", "Cancel 12 orders?".

The engine's result names (:class:`~console.bulk.results.ResultStatus`) say ``completed`` for
"the action's end state", whatever the action (the journal and ``--json`` keep those names). On
screen an action is told in its own words, as the headless commands do: ``completed`` becomes the
action's ``done`` (cancelled, disabled, ...), ``completing`` its ``doing``. Complete reads exactly
as it always has.

Pure functions over :class:`~console.bulk.actions.Action` values: no Textual, no I/O.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.bulk.actions import Action

#: The progressive form of each action's verb, for the actions that do not carry one.
_DOING = {
    "complete": "completing", "cancel": "cancelling", "disable": "disabling", "enable": "enabling",
    "reassign": "reassigning", "reschedule": "rescheduling",
}

#: The order list's status cell while a request of the action is out. The column is 11 cells:
#: each fits (reassign drops its ellipsis, reschedule its -ing).
_ROW_SENDING = {
    "complete": "completing…", "cancel": "cancelling…", "disable": "disabling…", "enable": "enabling…",
    "reassign": "reassigning", "reschedule": "reschedule…",
}


def doing(action: "Action") -> str:
    """``cancelling``: the verb while it goes on."""
    return getattr(action, "doing", "") or _DOING.get(action.name, f"{action.verb}ing")


def sending_label(action: "Action", *, ascii: bool = False) -> str:
    """The row's status cell while the action's request is out (``completing…``)."""
    label = _ROW_SENDING.get(action.name) or f"{doing(action)}…"
    return label.replace("…", "...") if ascii else label


_WORDS = re.compile(r"\b(completed|completing|complete|Completed|Completing|Complete)\b")


def in_words(text: str, action: "Action") -> str:
    """``text`` written for complete, told for ``action``: completed -> its ``done``,
    completing -> its ``doing``, complete -> its ``verb`` (capitals kept)."""
    if action.name == "complete":
        return text

    def word(match: re.Match[str]) -> str:
        found = match.group(1)
        lower = found.lower()
        new = action.done if lower == "completed" else doing(action) if lower == "completing" else action.verb
        return new[:1].upper() + new[1:] if found[:1].isupper() else new

    return _WORDS.sub(word, text)


def title_verb(action: "Action") -> str:
    """``Cancel``: the action's verb for a title or a question."""
    return action.verb[:1].upper() + action.verb[1:]
