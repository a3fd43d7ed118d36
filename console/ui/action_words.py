"""The words of a write action on screen: "cancelling…", "3 cancelled", "Cancel 12 orders?".

The engine's result names (:class:`~console.bulk.results.ResultStatus`) say ``completed`` for
"the action's end state", whatever the action (the journal and ``--json`` keep those names). On
screen an action is told in its own words, with the headless commands' own
:func:`~console.bulk.actions.in_words`: ``completed`` becomes the action's ``done`` (cancelled,
disabled, ...), ``completing`` its ``doing``. Complete reads exactly as it always has.

Pure functions over :class:`~console.bulk.actions.Action` values: no Textual, no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.bulk.actions import in_words

if TYPE_CHECKING:
    from console.bulk.actions import Action

#: The order list's status cell while a request of the action is out, where ``doing…`` does
#: not fit the 11-cell column (reassign drops its ellipsis, reschedule its -ing).
_ROW_SENDING = {"reassign": "reassigning", "reschedule": "reschedule…"}


def doing(action: "Action") -> str:
    """``cancelling``: the verb while it goes on."""
    return action.doing


def sending_label(action: "Action", *, ascii: bool = False) -> str:
    """The row's status cell while the action's request is out (``completing…``)."""
    label = _ROW_SENDING.get(action.name) or f"{action.doing}…"
    return label.replace("…", "...") if ascii else label


def title_verb(action: "Action") -> str:
    """``Cancel``: the action's verb for a title or a question."""
    return action.verb[:1].upper() + action.verb[1:]


__all__ = ["doing", "in_words", "sending_label", "title_verb"]
