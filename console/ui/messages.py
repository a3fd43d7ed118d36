"""Typed messages the console's controllers and widgets post to the App (its ``@on`` handlers
route them), instead of calling into the App or reading its attributes."""

from __future__ import annotations

from textual.message import Message


class RefreshRequested(Message):
    """The open orders may have changed (an action ended): refresh now, or right after the
    load in progress, which may have read the server before the change."""
