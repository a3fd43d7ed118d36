"""The key footer: Textual's Footer, rebuilt only when what it shows changes.

Textual's Footer removes and mounts all its keys again on every bindings update of the screen
(each focus change, each ``refresh_bindings``): three times before the console's first rows,
eight keys each, every key styled twice (mounted, then its ``-compact`` class set by a watcher)
with two component classes each: ~100 of the ~240 style applications before the first rows
(issue 6). This footer:

- recomposes only when the keys it would show differ from the ones it shows (key, how it is
  displayed, description, action, enabled, tooltip): a keymap, an action that becomes disabled
  or a binding shown or hidden still rebuilds it, exactly as Textual builds it;
- builds keys that are born with the footer's ``-compact`` class (the watcher then finds nothing
  to change) and style their component classes when first drawn (LazyComponentStyles).

Clicking a key, its tooltip, hover and disabled looks are Textual's FooterKey's, unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import groupby

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

from console.ui.component_styles import LazyComponentStyles
from console.ui.textual_compat import enabled


class ConsoleFooterKey(LazyComponentStyles, FooterKey):
    """Textual's FooterKey, styled lazily. Same looks and click: a subclass matches every rule
    written for ``FooterKey`` (its DEFAULT_CSS, Footer's) and inherits its DEFAULT_CSS."""


class ConsoleFooter(Footer):
    """Footer(compact=...) that rebuilds its keys only when they change."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        #: What the keys on show were built from (None: not built yet).
        self._shown: tuple | None = None
        #: While held, no key is built (see hold).
        self._held = False

    def hold(self) -> None:
        """Build no keys until release(): the console holds them while its first rows are on
        their way, so that building, styling and laying out the keys (~10-30 ms of CPU here)
        comes after those rows are on screen, not before (issue 6)."""
        self._held = True

    def release(self) -> None:
        """Build the keys now if they are due (a no-op when not held)."""
        if self._held:
            self._held = False
            if self._bindings_ready and self.is_attached:
                # On the footer's own queue: its keys bind to it (data_bind), whoever releases.
                self.call_later(self._recompose_if_changed)

    def _wanted(self) -> tuple:
        """What compose would show now, as comparable values."""
        app = self.app
        active = self.screen.active_bindings
        shown = tuple(
            (binding.key, app.get_key_display(binding), binding.description, binding.action,
             enabled, tooltip, binding.group)
            for (_, binding, enabled, tooltip) in active.values() if binding.show
        )
        palette = None
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE:
            found = active.get(app.COMMAND_PALETTE_BINDING)
            if found is not None:
                _node, binding, enabled, tooltip = found
                palette = (binding.key, app.get_key_display(binding), binding.description,
                           binding.action, enabled, binding.tooltip)
        return shown, palette, self.compact

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if self._held or not self.is_attached or self._wanted() == self._shown:
            return
        await self.recompose()

    def compose(self) -> ComposeResult:
        # Textual's Footer.compose (8.2), with ConsoleFooterKey and the compact class given at birth.
        if not self._bindings_ready:
            return
        self._shown = self._wanted()
        active_bindings = self.screen.active_bindings
        bindings = [
            (binding, enabled, tooltip)
            for (_, binding, enabled, tooltip) in active_bindings.values()
            if binding.show
        ]
        action_to_bindings: defaultdict[str, list[tuple[Binding, bool, str]]] = defaultdict(list)
        for binding, enabled, tooltip in bindings:
            action_to_bindings[binding.action].append((binding, enabled, tooltip))
        self.styles.grid_size_columns = len(action_to_bindings)
        compact = " -compact" if self.compact else ""
        for group, multi_bindings_iterable in groupby(
            action_to_bindings.values(),
            lambda multi_bindings_: multi_bindings_[0][0].group,
        ):
            multi_bindings = list(multi_bindings_iterable)
            if group is not None and len(multi_bindings) > 1:
                with KeyGroup(classes="-compact" if group.compact else ""):
                    for multi_bindings in multi_bindings:
                        binding, enabled, tooltip = multi_bindings[0]
                        yield ConsoleFooterKey(
                            binding.key,
                            self.app.get_key_display(binding),
                            "",
                            binding.action,
                            disabled=not enabled,
                            tooltip=tooltip or binding.description,
                            classes="-grouped" + compact,
                        ).data_bind(compact=Footer.compact)
                yield FooterLabel(group.description)
            else:
                for multi_bindings in multi_bindings:
                    binding, enabled, tooltip = multi_bindings[0]
                    yield ConsoleFooterKey(
                        binding.key,
                        self.app.get_key_display(binding),
                        binding.description,
                        binding.action,
                        disabled=not enabled,
                        tooltip=tooltip,
                        classes=compact.strip(),
                    ).data_bind(compact=Footer.compact)
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            try:
                _node, binding, enabled, tooltip = active_bindings[self.app.COMMAND_PALETTE_BINDING]
            except KeyError:
                pass
            else:
                # Textual's palette key is not bound to the footer's compact (it stays compact).
                yield ConsoleFooterKey(
                    binding.key,
                    self.app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    classes="-command-palette -compact",
                    disabled=not enabled,
                    tooltip=binding.tooltip or binding.description,
                )


class HeldFooter(Footer):
    """Textual's Footer, with hold() and release() (see ConsoleFooter) and nothing else: its keys
    are rebuilt on every bindings update, as Textual does."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._held = False
        #: Whether the screen has told the footer its bindings (compose has keys to show).
        self._keys_known = False

    def hold(self) -> None:
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            if self._keys_known and self.is_attached:
                self.call_later(self.recompose)

    def bindings_changed(self, screen: Screen) -> None:
        self._keys_known = True
        super().bindings_changed(screen)

    def compose(self) -> ComposeResult:
        if self._held:
            return
        yield from super().compose()


if not enabled("footer_rebuild"):
    # Switched off (an A/B measurement, tests/benchmarks/compat_ab.py).
    ConsoleFooter = HeldFooter  # type: ignore[misc,assignment]
