"""Component-class styles resolved when a widget first draws with them, not at every restyle.

Textual styles every class in a widget's ``COMPONENT_CLASSES`` each time the widget is styled:
one virtual node per class, each matched against the whole stylesheet. Before the console's
first rows, the order list alone is styled four times (mounted, focused, the screen's resume
pass, ...) with 17 classes: 68 of its ~240 style applications (issue 6), for a list that has
not drawn a row yet.

:class:`LazyComponentStyles` keeps the same styles and the same moments, with less work:

- a class's styles are looked up when the widget first asks for them (``get_component_styles``,
  so ``get_component_rich_style`` too), matched exactly as Textual matches them;
- at every later restyle of the widget (where Textual would recompute them all), the classes
  looked up so far are looked up again; if any changed, the widget is told as after a style
  update (``notify_style_update``: its own caches go) and repainted, as Textual does.

A class the widget never draws with (the bulk marker before any mark) is never styled.
"""

from __future__ import annotations

from functools import lru_cache

from textual.css.styles import RenderStyles
from textual.dom import DOMNode

from console.ui.textual_compat import enabled


@lru_cache(maxsize=None)
def declared_component_classes(cls: type[DOMNode]) -> frozenset[str]:
    """Every component class ``cls`` declares or inherits (as Textual collects them)."""
    return DOMNode.__dict__["_get_component_classes"].__func__(cls)


class LazyComponentStyles:
    """Mix into a widget (first, before the Textual base) to style its component classes lazily."""

    _component_styles: dict[str, RenderStyles]

    def _get_component_classes(self) -> frozenset[str]:  # type: ignore[override]
        """Textual asks for the classes to style at the end of every restyle of this widget
        (``Stylesheet._process_component_classes``, its only caller): answer none, and bring
        the ones looked up so far up to date instead."""
        self._restyle_looked_up_components()
        return frozenset()

    def get_component_styles(self, *names: str) -> RenderStyles:
        component_styles = self._component_styles
        missing = [name for name in names if name not in component_styles]
        if missing:
            declared = declared_component_classes(type(self))
            for name in missing:
                if name in declared:  # an undeclared name stays a KeyError, as in Textual
                    component_styles[name] = self._style_component(name)
        return super().get_component_styles(*names)  # type: ignore[misc]

    def _style_component(self, name: str) -> RenderStyles:
        # What Stylesheet._process_component_classes does for one class.
        virtual_node = DOMNode(classes=name)
        virtual_node._attach(self)  # type: ignore[arg-type]
        self.app.stylesheet.apply(virtual_node, animate=False)  # type: ignore[attr-defined]
        return virtual_node.styles

    def _restyle_looked_up_components(self) -> None:
        component_styles = self._component_styles
        if not component_styles:
            return
        changed = False
        for name, old in list(component_styles.items()):
            new = self._style_component(name)
            component_styles[name] = new
            changed = changed or new != old
        if changed:
            self.notify_style_update()  # type: ignore[attr-defined]
            self.refresh()  # type: ignore[attr-defined]


if not enabled("lazy_component_styles"):
    class LazyComponentStyles:  # type: ignore[no-redef]
        """Switched off (an A/B measurement, tests/benchmarks/compat_ab.py): Textual's own
        styling of component classes."""
