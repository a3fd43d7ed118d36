"""A scrolling widget's row count given to its scrollbar without a layout of the screen.

Replaces: assigning ``virtual_size`` (a reactive with ``layout=True``: the whole screen is laid
out again, every widget measured and redrawn) by ``set_reactive`` plus what Textual does for the
scrollbars after a layout: ``Widget._refresh_scrollbars`` (is a scrollbar shown) and
``Widget._scroll_update`` (the scrollbars' sizes, the scroll offsets kept in range).

Why: the order list grows by a page at a time while a fleet loads (50 pages for 50k orders) and
the bulk dialog's line list by a few lines per second; neither widget's own size depends on its
row count (the stylesheet sizes them), only the scrollbar does. A layout is still asked for when
the scrollbar appears or goes (that changes the rows' width), and while the size is not known.

Switch: ``DISPATCH_CONSOLE_COMPAT_OFF=virtual_size_without_layout`` assigns ``virtual_size``
instead (Textual's way). Gain (tests/benchmarks/compat_ab.py, RESULTS.md): a 20,000-order load
with a held key 71-122 ms faster (6-12%); the bulk dialogs' line list ~1 ms less CPU per line
appended (16%).
"""

from __future__ import annotations

from textual.geometry import Size
from textual.widget import Widget

from console.ui.textual_compat import enabled

#: Off: every row count is given by assigning ``virtual_size`` (an A/B measurement).
WITHOUT_LAYOUT = enabled("virtual_size_without_layout")


def refresh_scrollbar_visibility(widget: Widget) -> None:
    """Work out again whether ``widget`` shows its scrollbars (after its virtual size changed)."""
    widget._refresh_scrollbars()


def update_scrollbars(widget: Widget, virtual_size: Size) -> None:
    """What Textual does to ``widget``'s scrollbars after a layout: visibility, their window
    sizes (and a repaint), the scroll offsets validated."""
    widget._scroll_update(virtual_size)
