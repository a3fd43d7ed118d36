"""The console's help: the long description of every action (the help screen and the command
palette show them) and the help screen's contents, from the App's bindings as the keymap left
them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.ui.app import DispatchApp
    from console.ui.screens.help import HelpScreen


def action_descriptions(app: DispatchApp) -> dict[str, str]:
    """Long descriptions per action name."""
    from console.ui import bulk_view

    settings = app.settings
    descriptions = {
        "complete": "complete the highlighted order (asks first)" + (" [disabled: read-only]" if settings.read_only else ""),
        "refresh": f"refresh now (automatic every {settings.refresh_seconds:g} s)",
        "zoom": "zoom the focused pane to the whole screen, and back",
        "help": "this help",
        "quit": "quit",
        "cursor_down": "next order", "cursor_up": "previous order",
        "page_down": "a page down", "page_up": "a page up",
        "first": "first order", "last": "last order",
        "confirm": "complete it", "cancel": "leave it",
        "command_palette": "command palette: every action by name",
    }
    descriptions.update(bulk_view.help_descriptions(read_only=settings.read_only))
    descriptions.update(app.view_controls.help_descriptions())
    descriptions.update(app.alerts.help_descriptions())
    return descriptions


def help_screen(app: DispatchApp) -> HelpScreen:
    """The help screen: every context's keys, then the notes on what the list shows."""
    from console.ui import bulk_view
    from console.ui.bulk_run import TYPED_CONFIRM_ABOVE
    from console.ui.screens.help import HelpScreen, describe_bindings

    descriptions = action_descriptions(app)
    contexts = [
        ("Everywhere", describe_bindings(app, descriptions=descriptions)),
        ("Order list", describe_bindings(app.order_list, descriptions=descriptions)),
        ("Complete confirmation", [("y, enter", "complete it"), ("n, escape", "leave it")]),
        ("Detail pane, after tab (c, space, y still act on the list's order)",
         [("tab", "move focus between the list and the detail"),
          *describe_bindings(app.detail, descriptions=app.detail.KEY_WORDS)]),
        *bulk_view.help_contexts(typed_above=TYPED_CONFIRM_ABOVE),
        *app.view_controls.help_contexts(),
        *app.alerts.help_contexts(),
    ]
    notes = [
        "The list: worst risk first, then scheduled time. 'LATE 12m': an open order 12 minutes "
        "past its scheduled time. '" + app.PENDING_LABEL + "': a complete is in flight.",
        bulk_view.help_note(app.settings.ascii),
        *app.view_controls.help_notes(),
        *app.alerts.help_notes(),
    ]
    return HelpScreen(contexts, app.order_list.palette, notes=notes)
