"""Typed messages the console's controllers and widgets post to the App (its ``@on`` handlers
route them), instead of calling into the App or reading its attributes."""

from __future__ import annotations

from textual.message import Message


class RefreshRequested(Message):
    """The open orders may have changed (an action ended): refresh now, or right after the
    load in progress, which may have read the server before the change."""


class ChangesFound(Message):
    """The session compared a complete refresh with the one before (every refresh after the
    first load, with or without changes): ``changes`` is its
    :class:`~console.session.alerts.ChangesDetected`."""

    def __init__(self, changes: object) -> None:
        super().__init__()
        self.changes = changes


class AcknowledgeAllNewReds(Message):
    """The supervisor acknowledged every new red (``a`` in the change feed)."""
