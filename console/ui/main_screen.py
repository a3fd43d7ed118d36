"""The console's main screen: Textual's Screen that ignores a stale Resize.

A Resize older than the app's size is dropped before Textual handles it: two queued Resizes of
different sizes otherwise made the screen lay itself out forever (the window of a browser
resized before the first frame; console/ui/textual_compat/resize.py says how).
"""

from __future__ import annotations

from textual.screen import Screen

from console.ui.textual_compat.resize import IgnoreStaleResize


class MainScreen(IgnoreStaleResize, Screen):
    """The default screen of the DispatchApp."""


def main_screen_for(width: int, breakpoints: list[tuple[int, str]]) -> MainScreen:
    """The main screen, born with the breakpoint class of the terminal's width.

    Textual sets that class (``-wide``/``-narrow``) on the screen's first Resize, after every
    widget has been styled, and a class change on the screen restyles the whole tree: one
    more full styling pass (~30 ms, the list and the detail pane restyle their component
    classes too) before the first rows. Given the class now, the Resize finds
    nothing to change. It stays Textual's to keep right: every later Resize (and this first
    one, if the size was not known yet) sets it from the App's HORIZONTAL_BREAKPOINTS."""
    screen = MainScreen(id="_default")
    fitting = [(bound, name) for bound, name in breakpoints if width >= bound]
    if fitting:
        # The widest that fits, as Textual picks it. No restyle now: the screen is styled
        # when it is registered, right after this.
        screen.add_class(max(fitting)[1], update=False)
    return screen
