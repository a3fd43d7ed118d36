"""Bytes of our own to the terminal, through the Textual driver that draws the screen.

Replaces: nothing public; it calls ``App._driver.write``, as Textual's own
``App.copy_to_clipboard`` does to send OSC 52.

Why: a notification (console/notify.py: BEL, OSC 9, OSC 777, tmux passthrough) is a sequence
for the terminal, not screen content. Written to stdout beside Textual it could land inside a
frame Textual is writing (its writer thread owns the terminal's output): the driver's ``write``
queues it between frames, on the same stream, in order. Textual has no public way to send raw
bytes (``copy_to_clipboard`` only sends OSC 52). With no driver (not running, a headless test
driver) or a driver that cannot write now (suspended), nothing is sent and False is returned:
a notification is never worth an error.

Gain: the feature (there is no public way); not switchable. tests/ui/test_ui_textual_compat.py
checks that the driver ``copy_to_clipboard`` writes to is the one this writes to, in order.
"""

from __future__ import annotations

from textual.app import App


def write(app: App, data: str) -> bool:
    """Send ``data`` (already safe for a terminal: the caller sanitized it) to the terminal the
    app draws on. True if it was handed to the driver."""
    driver = app._driver
    if driver is None or not data:
        return False
    try:
        driver.write(data)
        driver.flush()
    except (AssertionError, OSError, ValueError):  # not in application mode, or the terminal is gone
        return False
    return True
