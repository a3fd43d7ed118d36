"""A screen that ignores a Resize older than the app's size: Textual can otherwise lay a screen
out forever, flipping between two sizes.

Replaces: nothing of Textual's; it filters what reaches ``Screen._on_resize`` through the public
``on_event``.

Why: a Screen lays itself out on each Resize it receives, and when that layout changes the
screen's own size it posts itself a Resize of that size. Two Resizes of different sizes queued on
a screen, with any other message between them (Textual merges only adjacent ones), then answer
each other for good: each layout changes the size the other one set, and posts its own size
again. The process spins at full CPU, its memory grows, and a quit is never carried out.
Textual 8.2.8's web driver (textual-serve, a browser) gets there when the window is resized
before the first frame: the resize packet reaches the app before the driver's own initial size,
the app hands the first to the screen at once, and the screen's first layout (at the second
size) posts the other. A ten-line Textual app with an Input and a Footer hangs the same way
(tests/ui/test_ui_web_driver.py reproduces it with the console).

A Resize whose size is not the app's current size is stale: the app has had a newer size since,
and has given or will give it to the screen. Dropping it ends the exchange after one layout at
the app's size. Inline apps size their screen apart from the app and are left alone.

Gain: correctness (the hang), not time. Textual 7.0.0 does not hang without it (tried); 8.2.8
does. Switch: ``DISPATCH_CONSOLE_COMPAT_OFF=ignore_stale_resize`` turns it off, to check after
a Textual upgrade whether it is still needed (tests/ui/test_ui_web_driver.py passes without it).
"""

from __future__ import annotations

from textual import events
from textual.screen import Screen

from console.ui.textual_compat import enabled

#: Off: every Resize is handled, as Textual does (to check whether Textual still needs this).
ON = enabled("ignore_stale_resize")


def is_stale(screen: Screen, event: events.Event) -> bool:
    """Whether ``event`` is a Resize of ``screen`` to a size the app no longer has."""
    if not ON or not isinstance(event, events.Resize):
        return False
    app = screen.app
    return not app.is_inline and event.size != app.size


class IgnoreStaleResize:
    """Mix into a Screen (before Screen): a stale Resize (see the module) is not handled."""

    async def on_event(self, event: events.Event) -> None:
        if is_stale(self, event):  # type: ignore[arg-type]
            return
        await super().on_event(event)  # type: ignore[misc]
