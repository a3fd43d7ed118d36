"""The key footer: Textual's Footer, whose keys can be held back while the first rows load.

Building, styling and laying out the footer's keys is ~10-30 ms of CPU here; the console holds
them (:meth:`ConsoleFooter.hold`) while its first rows are on their way and releases them once
those rows are on screen. Everything else -- which keys, how they look, clicks, tooltips, the
keymap -- is Textual's Footer, through its public API.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer


class ConsoleFooter(Footer):
    """Textual's Footer, with :meth:`hold` and :meth:`release`."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        #: While held, no key is built (see hold).
        self._held = False
        #: Whether the screen has told the footer its bindings (compose has keys to show).
        self._keys_known = False

    def hold(self) -> None:
        """Build no keys until release()."""
        self._held = True

    def release(self) -> None:
        """Build the keys now if they are due (a no-op when not held)."""
        if self._held:
            self._held = False
            if self._keys_known and self.is_attached:
                # On the footer's own queue: its keys bind to it (data_bind), whoever releases.
                self.call_later(self.recompose)

    def bindings_changed(self, screen: Screen) -> None:
        self._keys_known = True
        super().bindings_changed(screen)

    def compose(self) -> ComposeResult:
        if self._held:
            return
        yield from super().compose()
