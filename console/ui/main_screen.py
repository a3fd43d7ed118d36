"""The console's main screen: styled once at start-up, not twice.

Textual styles each widget when it is registered, and then once more, all of them, when the
first screen resumes (``ScreenResume(refresh_styles=True)``): a widget class's DEFAULT_CSS
joins the stylesheet only when its first instance is registered, so a widget styled before a
later class arrived may have missed a rule. That second pass restyled the 20 widgets of the
console's first frame (26 style applications, 20-40 ms here under load, issue 6).

:class:`MainScreen` makes the second pass needless, and skips it only when it is:

- before the app's composed widgets are registered (the first mount), it adds the DEFAULT_CSS
  of their classes and of their children's (as their registration would, in one go) and
  restyles what it holds already (itself, maybe the toast rack and the tooltip) if that changed the
  stylesheet: every widget is then styled once, by the stylesheet it will keep. A class whose
  first widget is composed later by another widget is not known here: its arrival changes the
  stylesheet, and then the pass below runs;
- when it resumes the first time, it leaves the styles alone only if the stylesheet is still
  exactly that one (same sources, no theme or variable change since). Otherwise -- a widget
  class it did not know, a theme change, a later resume -- Textual's pass runs as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from textual import events
from textual.screen import Screen
from textual.widget import Widget

from console.ui.textual_compat import enabled
from console.ui.textual_compat.resize import IgnoreStaleResize

#: Off: an A/B measurement (tests/benchmarks/compat_ab.py).
SINGLE_STYLING = enabled("single_styling")


def _composed(widgets: Iterable[Widget]) -> Iterator[Widget]:
    """The composed widgets and those composed into them (not yet mounted), level by level:
    the order in which they register, so their DEFAULT_CSS joins the stylesheet in the order it
    would have (rules of equal specificity are decided by that order)."""
    level = list(widgets)
    while level:
        yield from level
        level = [child for widget in level for child in widget._pending_children]


class MainScreen(IgnoreStaleResize, Screen):
    """The default screen of the DispatchApp (see the module's docstring). A Resize older than
    the app's size is ignored (console/ui/textual_compat/resize.py)."""

    #: What the stylesheet was when the composed widgets were about to be styled (None: unknown).
    _styled_with: tuple | None = None
    _resumed = False

    def _stylesheet_state(self) -> tuple:
        app = self.app
        return app._css_update_count, tuple(app.stylesheet.source.items())

    def mount(self, *widgets: Widget, **kwargs):  # type: ignore[override]
        # The app's composed widgets are the first mounted here (App._on_compose); later
        # mounts (a notification, a screen's widget) change nothing.
        if SINGLE_STYLING and self._styled_with is None and widgets and not self._resumed:
            self._add_default_css(widgets)
        return super().mount(*widgets, **kwargs)

    def _add_default_css(self, widgets: Iterable[Widget]) -> None:
        stylesheet = self.app.stylesheet
        before = self._stylesheet_state()
        internal: list[Widget] = []
        self._extend_compose(internal)  # the toast rack and the tooltip Textual adds to a screen
        seen: set[type] = set()
        for widget in [*_composed(widgets), *internal]:
            if type(widget) in seen:
                continue
            seen.add(type(widget))
            # What Widget._post_register adds when the first widget of a class registers.
            for read_from, css, tie_breaker, scope in widget._get_default_css():
                stylesheet.add_source(css, read_from=read_from, is_default_css=True,
                                      tie_breaker=tie_breaker, scope=scope)
        if self._stylesheet_state() != before:
            self.update_node_styles(animate=False)  # what is mounted already was styled before them
        self._styled_with = self._stylesheet_state()

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Runs before Screen._on_screen_resume (Textual calls every class's handler, the most
        # derived first), which restyles the whole screen when refresh_styles is set.
        styled_with, self._styled_with = self._styled_with, None  # the first resume only
        self._resumed = True
        if event.refresh_styles and styled_with is not None and styled_with == self._stylesheet_state():
            event.refresh_styles = False
