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
