"""The key footer: Textual's Footer, whose keys can be held back while the first rows load.

Building, styling and laying out the footer's keys is ~10-30 ms of CPU here; the console holds
them (:meth:`ConsoleFooter.hold`) while its first rows are on their way and releases them once
those rows are on screen. Everything else -- which keys, how they look, clicks, tooltips, the
keymap -- is Textual's Footer, through its public API.

Below :attr:`ConsoleFooter.ACTIONS_MIN_WIDTH` columns the order actions other than complete
(cancel, disable, enable, reassign, reschedule) are left out of the footer: 80 columns hold the
other keys and no more. ``?`` and ``ctrl+p`` list them at every width, and a press of one that
does not apply says why.

The keys keep the order their bindings are declared in, whatever the keymap: Textual's keymap
re-adds a rebound key at the end of its node's bindings, so ``"view.filter" = "f"`` moved Filter
from the second place to the last; a supervisor finds a key where it always was.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from console.ui.order_actions import KEY_ACTIONS
from console.ui.textual_compat.footer import FooterKey

from console.ui.textual_compat.bindings import declared_bindings


class ConsoleFooter(Footer):
    """Textual's Footer, with :meth:`hold` and :meth:`release`."""

    #: Columns from which the footer shows the order actions of :data:`WIDE_ONLY`.
    ACTIONS_MIN_WIDTH = 130
    #: Actions shown only from ACTIONS_MIN_WIDTH columns.
    WIDE_ONLY = frozenset(KEY_ACTIONS)  # the order actions' keys (x, d, E, a, t)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        #: Whether the keys were last built wide (with WIDE_ONLY); None: not built yet.
        self._built_wide: bool | None = None
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

    def _wide(self) -> bool:
        return self.app.size.width >= self.ACTIONS_MIN_WIDTH

    def shows(self, action: str) -> bool:
        """Whether a shown binding of ``action`` has a key in this footer at the current width."""
        return action not in self.WIDE_ONLY or self._wide()

    def on_resize(self) -> None:
        if self._built_wide is not None and self._built_wide != self._wide() and not self._held:
            self.call_later(self.recompose)

    def compose(self) -> ComposeResult:
        if self._held:
            return
        wide = self._built_wide = self._wide()
        widgets = list(super().compose())
        if not wide:
            widgets = [w for w in widgets if self.shows(getattr(w, "action", ""))]
        if all(isinstance(widget, FooterKey) for widget in widgets):  # no key groups to keep together
            rank = self._declared_rank()
            palette = [w for w in widgets if w.has_class("-command-palette")]
            keys = [w for w in widgets if not w.has_class("-command-palette")]
            keys.sort(key=lambda w: rank.get(w.action, len(rank)))  # stable: ties keep Textual's order
            widgets = [*keys, *palette]
        yield from widgets

    def _declared_rank(self) -> dict[str, int]:
        """Each shown action's place: along the focused widget's chain (as Textual looks keys up),
        in the order each node declares its bindings, before the keymap."""
        screen = self.screen
        focused = screen.focused
        chain: list[DOMNode] = list(focused.ancestors_with_self) if isinstance(focused, Widget) else [screen]
        if self.app not in chain:
            chain.append(self.app)
        rank: dict[str, int] = {}
        for node in chain:
            for _key, binding in declared_bindings(node):
                if binding.show:  # only shown keys (App's hidden ctrl+q must not rank "quit" first)
                    rank.setdefault(binding.action, len(rank))
        return rank
