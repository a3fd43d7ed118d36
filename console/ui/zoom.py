"""The ``z`` key: the focused pane (the list or the detail) takes the whole body, and back.

Done with classes on the main screen (styles/app.tcss) rather than Screen.maximize: the detail
pane is a scroll container, which Textual does not maximize."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.widget import Widget


def toggle_zoom(screen: Screen, zoomed: str | None, focused: Widget | None, *,
                detail: Widget, order_list: Widget) -> str | None:
    """Zoom the focused pane, or unzoom; returns what is zoomed now ("orders", "detail", None)."""
    if zoomed is not None:
        screen.remove_class("-zoom-orders", "-zoom-detail")
        return None
    zoomed = "detail" if focused is not None and detail in (focused, *focused.ancestors) else "orders"
    screen.add_class(f"-zoom-{zoomed}")
    (detail if zoomed == "detail" else order_list).focus()
    return zoomed
