"""The console's keyboard ergonomics, for one :class:`DispatchApp`:

- the list's view: ``/`` filter as you type, ``1``/``2``/``0`` risk, ``s`` status, ``o``/``O`` sort,
  and the view bar that always says which are active (console/ui/filter_bar.py);
- ``y``: the highlighted order's share URL to the clipboard (console/ui/clipboard.py);
- which actions apply now (for the footer, via the app's ``check_action``) and, when a key of a
  disabled action is pressed, a toast saying why (read-only, nothing highlighted, ...);
- the command palette's list of every action (console/ui/commands.py) and the help's entries;
- start-up: the user's keymap (``[keymap]`` in the config), the ASCII and colour-blind classes.

The app keeps thin ``action_*`` methods that call in here (like the bulk controller), so this
logic lives in one module and app.py stays readable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.actions import parse as parse_action

from console.api.vocab import OPEN_STATUSES, RiskLevel
from console.api.sanitize import sanitize
from console.ui.ascii_mode import AsciiFilter
from console.ui.clipboard import copy_message, copyable_url
from console.ui.filter_bar import FilterBar, ViewState
from console.ui.order_actions import KEY_ACTIONS, read_only_reason
from console.session.filtering import ViewFilter
from console.session.sorting import SORT_COLUMNS, ViewSort
from console.ui.textual_compat.bindings import bindings_after_keymap, declared_bindings, key_display

if TYPE_CHECKING:
    from console.ui.app import DispatchApp

#: Actions that write to HyperTrack: all disabled in read-only mode.
WRITE_ACTIONS = frozenset({"complete", "retry_failed", "cancel_order", "disable_order", "enable_order",
                           "reassign_order", "reschedule_order"})

#: Long descriptions of this module's actions (help screen and command palette).
DESCRIPTIONS: dict[str, str] = {
    "filter": "filter as you type: handle, worker, ops group, address, metadata",
    "risk('red')": "show only orders with a red risk",
    "risk('yellow')": "show orders with a red or yellow risk",
    "risk('all')": "show every risk level",
    "pick_status": "show only one status (a picker)",
    "pick_sort": "sort by a column (a picker)",
    "reverse_sort": "reverse the sort",
    "copy_url": "copy the highlighted order's share URL (OSC 52 clipboard)",
    "export": "export the orders shown (filter, sort, marks) to a CSV file",
}

_RISK_BY_WORD = {"red": RiskLevel.RED, "yellow": RiskLevel.YELLOW, "all": None}


@dataclass(frozen=True)
class PaletteCommand:
    """One entry of the command palette: a title, a help line, and what it runs."""

    title: str
    help: str
    action: str
    #: The node the action runs on: "app" or "list".
    target: str = "app"


class ViewControls:
    def __init__(self, app: "DispatchApp") -> None:
        self.app = app
        self.filter = ViewFilter()
        self.sort = ViewSort()
        self.bar: FilterBar | None = None
        self._clashes_told: set[tuple[str, ...]] = set()
        self._ascii_filter = AsciiFilter()
        #: The keys of the view's actions after the user's keymap, for the hints that name them.
        self._keys: dict[str, str | None] = {}

    # ------------------------------------------------------------------ composition

    def make_bar(self) -> FilterBar:
        self.bar = FilterBar(on_text=self.set_text, on_close=self.close_filter, on_move=self._move,
                             id="viewbar")
        return self.bar

    def mount(self) -> None:
        """Called from the app's on_mount: classes for ASCII and the palette, the keymap."""
        app = self.app
        settings = app.settings
        app.set_class(settings.ascii, "-ascii")
        app.set_class(getattr(settings, "palette", "default") == "colorblind", "-palette-colorblind")
        keymap = dict(getattr(settings, "keymap", ()) or ())
        if keymap:
            app.set_keymap(keymap)
            self._tell_keyless_actions()
        self._keys = {}  # the keymap may have changed them
        self.update_bar()

    def _tell_keyless_actions(self) -> None:
        """A keymap that gives an action the key of another takes it away from that one, and
        Textual says nothing (its clash check skips bindings that have an id): say which
        actions have no key left (the command palette still runs them)."""
        lost: list[str] = []
        for node in (self.app, self.app.order_list):
            before = {b.id: b for _, b in declared_bindings(node) if b.id}
            still = {b.id for _, b in bindings_after_keymap(node) if b.id}
            lost += [f"{b.description or b.action} ({binding_id})" for binding_id, b in before.items()
                     if binding_id not in still]
        if lost:
            self.app.notify("Keymap: these actions lost their key to another (ctrl+p still runs them): "
                            + ", ".join(lost), severity="warning", timeout=15, markup=False)

    # ------------------------------------------------------------------ the view

    def apply_filter(self, new: ViewFilter) -> None:
        if new == self.filter:
            return
        self.filter = new
        self.app.order_list.set_filter(new.row_filter())
        self.update_bar()

    def apply_sort(self, new: ViewSort) -> None:
        if new == self.sort:
            return
        self.sort = new
        key, reverse = new.key()
        self.app.order_list.set_sort(key, reverse)
        self.update_bar()

    def update_bar(self) -> None:
        """Redraw the view bar if anything it shows changed (cheap to call on every tick)."""
        bar = self.bar
        if bar is None or not bar.is_mounted:
            return
        table = self.app.order_list.table
        bar.summary.set_state(ViewState(
            filter=self.filter, sort=self.sort, shown=len(table), total=table.total,
            editing=bar.editing, ascii=self.app.settings.ascii, filter_key=self.key("filter"),
        ))

    def key(self, action: str) -> str | None:
        """The app's key for ``action`` as the footer shows it, after the user's keymap."""
        if action not in self._keys:
            self._keys[action] = key_display(self.app, action)
        return self._keys[action]

    def _named(self, action: str, default: str) -> str:
        """The key of ``action`` for a sentence; ``default`` (e.g. "ctrl+p") if it has none."""
        return self.key(action) or default

    # ``/``

    def open_filter(self) -> None:
        if self.bar is None:
            return
        self.app.order_list.table.prepare_text_search()  # its cost before the first keystroke
        self.bar.open(self.filter.text)
        self.update_bar()
        self.app.refresh_bindings()

    def set_text(self, text: str) -> None:
        """Every keystroke in the filter input: filter now (no debounce, no re-sort)."""
        self.apply_filter(self.filter.with_text(text))

    def close_filter(self, keep: bool) -> None:
        """Enter (keep) or Esc (clear the text; the risk and status filters stay)."""
        if self.bar is None:
            return
        if not keep:
            self.apply_filter(self.filter.with_text(""))
        self.bar.close()
        self.app.order_list.focus()
        self.update_bar()
        self.app.refresh_bindings()

    def _move(self, delta: int) -> None:
        order_list = self.app.order_list
        order_list.move_cursor(order_list.cursor_index + delta)

    # ``1`` ``2`` ``0``

    def set_risk(self, word: str) -> None:
        min_risk = _RISK_BY_WORD.get(word)
        self.apply_filter(self.filter.with_risk(min_risk))

    # ``s``

    def _rows_but_status(self) -> list:
        """The rows the current view would show with no status filter: the text and risk
        filters applied (the picker's "in this view" counts)."""
        table = self.app.order_list.table
        if self.filter.status is None:
            return table.view
        base = self.filter.with_status(None).row_filter()
        if base is None:
            return table.rows
        rows = table.text_matches(base.needle) if base.needle else table.rows
        return rows if base.also is None else [row for row in rows if base.also(row)]

    def status_options(self) -> list[tuple[str, Text]]:
        """The status picker's options, each with two counts: the orders of that status in the
        current view (text and risk filters applied) and in the whole loaded list."""
        counts: dict[str, int] = {}
        for row in self.app.order_list.table.rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        shown: dict[str, int] = {}
        for row in self._rows_but_status():
            shown[row.status] = shown.get(row.status, 0) + 1
        ordered = [s for s in OPEN_STATUSES if s in counts] + sorted(s for s in counts if s not in OPEN_STATUSES)
        names = ["all statuses", *(sanitize(status) for status in ordered)]
        width = max(len(name) for name in names) + 2
        view = [sum(shown.values()), *(shown.get(status, 0) for status in ordered)]
        total = [sum(counts.values()), *(counts[status] for status in ordered)]
        ids = ["*", *(f"={status}" for status in ordered)]
        return [(option_id, Text(f"{name:<{width}}{here:>6,} in view {whole:>6,} in all"))
                for option_id, name, here, whole in zip(ids, names, view, total)]

    def pick_status(self) -> None:
        options = self.status_options()
        current = "*" if self.filter.status is None else f"={self.filter.status}"

        def picked(choice: str | None) -> None:
            if choice is None:
                return
            self.apply_filter(self.filter.with_status(None if choice == "*" else choice[1:]))

        from console.ui.screens.picker import PickerScreen  # loaded when first opened

        self.app.push_screen(PickerScreen("Show orders of status", options, current=current), picked)

    # ``o`` ``O``

    def pick_sort(self) -> None:
        options = []
        for column in SORT_COLUMNS:
            ascending, descending = column.directions
            options.append((column.name, Text(f"{column.title}: {ascending} (O: {descending})")))

        def picked(choice: str | None) -> None:
            if choice is not None:
                self.apply_sort(ViewSort(choice, reverse=False))

        from console.ui.screens.picker import PickerScreen

        self.app.push_screen(PickerScreen("Sort the list by", options, current=self.sort.column), picked)

    def reverse_sort(self) -> None:
        self.apply_sort(ViewSort(self.sort.column, not self.sort.reverse))

    def sort_by(self, column: str) -> None:
        self.apply_sort(ViewSort(column, reverse=False))

    # ``y``

    def share_url(self) -> str | None:
        """The highlighted order's share URL: its row's, else the full order's in the detail
        pane (the list item may predate the order's start, when the URL appears)."""
        app = self.app
        row = app.order_list.cursor_row if app.is_mounted else None
        if row is None:
            return None
        if row.share_url:
            return row.share_url
        shown = app.detail_controller.shown_order(row.ref)
        return shown.share_url if shown is not None else None

    def copy_url(self) -> None:
        row = self.app.order_list.cursor_row
        if row is None:
            return
        url = copyable_url(self.share_url())
        if url is None:
            self.app.notify(self.disabled_reason("copy_url") or "Nothing to copy.", severity="warning",
                            markup=False)
            return
        self.app.copy_to_clipboard(url)
        self.app.notify(copy_message(row.display_handle, url, ascii=self.app.settings.ascii),
                        title="Copied", markup=False)

    # ``e``

    def export(self) -> None:
        """Ask where, then write the rows as shown (a snapshot taken now) to a CSV file."""
        import asyncio
        import logging
        from pathlib import Path

        from console.export import ExportError, default_name, resolve, write_csv
        from console.ui.screens.export import ExportScreen

        app = self.app
        rows = list(app.order_list.table.view)
        is_marked = app.bulk.marks.is_marked
        marked = sum(1 for row in rows if is_marked(row.key))
        now = app.now()
        folder = Path.cwd()
        written: list = []

        async def submit(text: str) -> str | None:
            try:
                path = resolve(text, now=now, cwd=folder)
                # In a thread: 50k rows take a moment, and the list keeps answering meanwhile.
                written.append(await asyncio.to_thread(write_csv, path, rows, is_marked))
            except ExportError as exc:
                return str(exc)
            except Exception as exc:  # never a traceback on screen: say it, log where
                logging.getLogger(__name__).exception("the export failed")
                return f"The export failed ({type(exc).__name__}); no file was left."
            return None

        def closed(ok: bool | None) -> None:
            if ok and written:
                result = written[-1]
                orders = "order" if result.rows == 1 else "orders"
                app.notify(f"Exported {result.rows:,} {orders} ({result.marked:,} marked) to "
                           f"{sanitize(str(result.path))}", title="Exported", timeout=12, markup=False)

        app.push_screen(ExportScreen(count=len(rows), marked=marked, default=default_name(now),
                                     folder=str(folder), submit=submit), closed)

    def line_filters(self, textual_filters):
        """Textual's line filters (NO_COLOR's Monochrome, ...), plus ASCII mode's."""
        if not self.app.settings.ascii:
            return textual_filters
        return [*textual_filters, self._ascii_filter]

    # ------------------------------------------------------------------ what applies now

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """For the app's ``check_action``: None shows the key disabled, True enabled."""
        if action in KEY_ACTIONS:
            return self.app.order_actions.check_action(action)
        if action in WRITE_ACTIONS and self.app.settings.read_only:
            return None
        if action == "copy_url":
            return True if copyable_url(self.share_url()) else None
        if action == "filter" and self.bar is not None and self.bar.editing:
            return False  # "/" types a slash in the input: not a key to show then
        return True

    def disabled_reason(self, action: str) -> str | None:
        """Why ``action`` cannot run now, in words for a toast (None: it can, or no idea)."""
        app = self.app
        settings = app.settings
        order_actions = getattr(app, "order_actions", None)
        if order_actions is not None and action in KEY_ACTIONS:
            return order_actions.disabled_reason(action)
        if action in WRITE_ACTIONS and settings.read_only:
            return read_only_reason(settings, "complete")
        row = app.order_list.cursor_row if app.is_mounted else None
        if action == "complete" and row is None:
            return "No order is highlighted (the list is empty or still loading)."
        if action == "copy_url":
            if row is None:
                return "No order is highlighted: nothing to copy."
            if not self.share_url():
                return f"{row.display_handle} has no share URL (it appears once the order has started)."
            return f"{row.display_handle}'s share URL is not a web address, so it is not copied."
        return None

    def explain_key(self, key: str) -> None:
        """A key whose action is disabled was pressed: say why, instead of doing nothing."""
        app = self.app
        try:
            active = app.screen.active_bindings.get(key)
        except Exception:  # no screen yet (start-up) or shutting down
            return
        if active is None or active.enabled:
            return
        action = active.binding.action
        reason = self.disabled_reason(action) or f"{active.binding.description or action} is not available now."
        app.notify(reason, severity="warning", markup=False)

    def bindings_clash(self, clashed: Iterable[Any]) -> None:
        """The user's keymap gave a key that another binding already had: say so once (Textual
        calls this on every binding lookup)."""
        names = tuple(sorted({f"{b.id or b.action} ({b.key})" for b in clashed}))
        if not names or names in self._clashes_told:
            return
        self._clashes_told.add(names)
        self.app.notify("Keymap: these keys were already taken, the keymap's binding wins: "
                        + ", ".join(names), severity="warning", timeout=10, markup=False)

    # ------------------------------------------------------------------ help and palette

    def help_descriptions(self) -> dict[str, str]:
        return dict(DESCRIPTIONS)

    def help_contexts(self) -> list[tuple[str, list[tuple[str, str]]]]:
        return [
            (f"Filter input ({self._named('filter', 'ctrl+p')})", [
                ("type", "filters as you type: plain text, case-insensitive, no patterns"),
                ("enter", "keep the filter, back to the list"),
                ("escape", "clear the text filter, back to the list"),
                ("up, down", "move in the list while typing"),
            ]),
            (f"Pickers ({self._named('pick_status', 'ctrl+p')}, {self._named('pick_sort', 'ctrl+p')}) "
             "and other lists", [
                ("j, k, up, down", "move"), ("g, G, home, end", "first, last"),
                ("enter", "pick"), ("escape, q", "cancel"),
            ]),
            (f"Export dialog ({self._named('export', 'ctrl+p')})", [
                ("type", "the CSV file's path (offered: dispatch-orders-<UTC time>.csv here)"),
                ("enter", "write the file (never over an existing one)"), ("escape", "cancel"),
            ]),
            ("Command palette (ctrl+p)", [
                ("type", "find any action by name"), ("up, down", "move (j and k type)"),
                ("enter", "run it"), ("escape", "close"),
            ]),
        ]

    def help_notes(self) -> list[str]:
        return [
            "The bar above the list always shows the filter, the risk and status filters, the sort, "
            "and how many of the loaded orders they leave. Marks stay on orders the filter hides.",
            "y copies with OSC 52: it works over SSH; inside tmux it needs 'set -g set-clipboard on'.",
        ]

    def palette_commands(self, descriptions: dict[str, str]) -> list[PaletteCommand]:
        """Every action: the app's and the list's bindings (with their current keys), then the
        ones without a key of their own (each sort column, each status)."""
        app = self.app
        commands: list[PaletteCommand] = []
        seen: set[str] = set()
        for target, node in (("app", app), ("list", app.order_list)):
            for action, keys, short, ids in _bindings_of(node):
                if action in seen or action in ("command_palette", "help_quit"):
                    continue
                seen.add(action)
                title = descriptions.get(action) or short or action
                # The id is what a [keymap] entry in the config file names.
                help_text = f"key: {keys}" + (f"   (keymap id: {', '.join(ids)})" if ids else "")
                commands.append(PaletteCommand(_capitalise(title), help_text, action, target))
        for column in SORT_COLUMNS:
            commands.append(PaletteCommand(
                f"Sort by {column.title.lower()} ({column.directions[0]})",
                f"{self._named('pick_sort', 'ctrl+p')} picks the column, "
                f"{self._named('reverse_sort', 'ctrl+p')} reverses it", f"sort_by('{column.name}')"))
        pick = self._named("pick_status", "ctrl+p")
        for status in OPEN_STATUSES:
            commands.append(PaletteCommand(
                f"Show only status {status}", f"{pick} picks a status; {pick}, then 'all statuses' clears it",
                f"status('{status}')"))
        commands.append(PaletteCommand("Show every status", f"{pick} picks a status", "status('')"))
        return commands

    def set_status(self, status: str) -> None:
        self.apply_filter(self.filter.with_status(status or None))

    def state(self, command: PaletteCommand) -> bool | None:
        """The action's state for the palette (None: shown, but it says why it cannot run)."""
        node = self.app if command.target == "app" else self.app.order_list
        try:
            namespace, name, parameters = parse_action(command.action)
            if namespace:  # "app.x" or "screen.x", as Textual resolves them
                node = {"app": self.app, "screen": self.app.screen}[namespace]
            return node.check_action(name, parameters)
        except Exception:
            return True

    async def run(self, command: PaletteCommand) -> None:
        """Run a palette command, or say why it cannot run now."""
        app = self.app
        if not self.state(command):
            name = command.action.split("(")[0]
            app.notify(self.disabled_reason(name) or f"{command.title} is not available now.",
                       severity="warning", markup=False)
            return
        node = app if command.target == "app" else app.order_list
        await app.run_action(command.action, node)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _bindings_of(node: Any) -> Iterable[tuple[str, str, str, list[str]]]:
    """(action, keys as displayed, short description, binding ids) per action bound on
    ``node``, after the user's keymap."""
    app = node.app
    bindings = bindings_after_keymap(node)
    by_action: dict[str, tuple[list[str], str, list[str]]] = {}
    for _key, binding in bindings:
        keys, short, ids = by_action.setdefault(binding.action, ([], binding.description, []))
        shown = app.get_key_display(binding)
        if shown not in keys:
            keys.append(shown)
        if binding.id and binding.id not in ids:
            ids.append(binding.id)
    for action, (keys, short, ids) in by_action.items():
        yield action, ", ".join(keys), short, ids
