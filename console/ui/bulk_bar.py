"""The one-line bulk status bar above the footer: the number of marks, and a run's progress.

Shown whenever there is something to say (marks, a run going on or finished, the start-up
settlement), hidden otherwise so the list keeps its lines. It is redrawn from the controller's
coalesced flush, with ``layout=False`` (its height never changes), so a run of 1,000 orders
costs a few short updates per second, not a screen relayout per event.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console.ui.bulk_run import FAILED, FINISHED, SETTLING, STOPPING, BulkController
from console.ui.text import format_duration


class BulkStatusBar(Static):
    """Reads :class:`BulkController` state; never parses markup (every update is a Text)."""

    def __init__(self, controller: BulkController, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.controller = controller
        self._last: Text | None = None

    def on_mount(self) -> None:
        self.controller.subscribe(self.redraw, base=True)
        self.redraw()

    def on_unmount(self) -> None:
        self.controller.unsubscribe(self.redraw)

    def redraw(self) -> None:
        content = self.describe()
        show = content is not None
        if show != self.display:
            self.display = show  # a layout, only when the bar appears or goes
        if content is not None and content != self._last:
            self._last = content
            self.update(content, layout=False)

    def describe(self) -> Text | None:
        """The bar's text, or None when there is nothing to show."""
        c = self.controller
        startup = c.startup_state
        settling = c.startup_busy and startup is not None and startup.phase == SETTLING
        if not c.marks and not settling and (
            c.state is None or (c.state.phase == FINISHED and c.summary_hidden)
        ):
            return None  # the usual case at start-up: nothing to say, nothing more to import
        # The bulk views' wording (and the result types behind it) load when there is a run or
        # a mark to describe.
        from console.ui.bulk_view import rate_text, sep, short_counts

        ascii = c.app.settings.ascii
        dot = sep(ascii)
        key = c.app.view_controls.key  # the keys as the user's keymap has them
        parts: list[tuple[str, str]] = []
        marks = len(c.marks)
        if marks:
            glyph = "*" if ascii else "✓"
            parts.append((f"{glyph} {marks:,} marked", "bold"))
            if c.app.settings.read_only:
                parts.append(("read-only: completing is disabled", "bold"))
        if settling:
            total = startup.progress.total or len(startup.settled)
            parts.append((f"checking {total:,} order(s) an interrupted bulk run left in doubt; "
                          "nothing is sent until this is done", "bold"))
        state = c.state
        if state is not None and state.phase == FINISHED and c.summary_hidden:
            state = None
        if state is not None:
            progress = state.progress
            if state.phase == FAILED:
                parts.append((f"bulk run not started ({key('bulk_show') or 'ctrl+p'} shows why)", "bold"))
            elif state.phase == FINISHED:
                retry = len([r for r in state.retryable if r in c.marks])
                run = "run" if state.action.name == "complete" else state.action.verb
                text = f"last bulk {run}: " + short_counts(progress, ascii=ascii)
                if retry and key("retry_failed"):
                    text += f"{dot}{key('retry_failed')} retries {retry:,} failed"
                if key("bulk_show"):
                    text += f"{dot}{key('bulk_show')} shows results"
                parts.append((text, ""))
            else:
                if state.phase == SETTLING:
                    head = "bulk: checking earlier runs first"
                elif state.phase == STOPPING:
                    head = f"bulk STOPPING ({progress.in_flight:,} in flight)"
                elif state.paused_until is not None:
                    left = max(0.0, state.paused_until - c.clock())
                    head = f"bulk PAUSED by the server, resuming in {format_duration(left)}"
                else:
                    head = "bulk" if state.action.name == "complete" else f"bulk {state.action.verb}"
                text = f"{head}: {short_counts(progress, ascii=ascii)}{dot}{rate_text(progress, ascii=ascii)}"
                if key("bulk_show"):
                    text += f"{dot}{key('bulk_show')} shows it"
                parts.append((text, "bold"))
        elif marks and not c.app.settings.read_only:
            head = sum(len(text) for text, _ in parts) + len(dot) * len(parts)
            hint = self._marks_hint(key, dot, self.size.width - head if self.size.width else 80 - head)
            if hint:
                parts.append((hint, ""))
        if not parts:
            return None
        out = Text(no_wrap=True, overflow="ellipsis")
        for i, (text, style) in enumerate(parts):
            if i:
                out.append(dot)
            out.append(text, style)
        return out

    def _marks_hint(self, key, dot: str, room: int) -> str:
        """``c complete x cancel d disable a reassign t reschedule · U clears``: the keys that act
        on the marked orders (those that apply to at least one of them), then the one that
        clears them. When that does not fit ``room`` cells, the keys alone (``c x d a t act on
        them``): every key stays named rather than the line being cut."""
        app = self.controller.app
        names = [name for name in app.order_actions.applying_to_marked() if key(name)]
        clears = f"{key('clear_marks')} clears" if key("clear_marks") else ""
        for acts in (" ".join(f"{key(name)} {_WORD[name]}" for name in names),
                     f"{' '.join(key(name) for name in names)} act on them" if names else ""):
            hint = dot.join(h for h in (acts, clears) if h)
            if len(hint) <= room:
                break
        return hint


#: The hint's word for each action key (the verb, as the footer has it).
_WORD = {
    "complete": "complete", "cancel_order": "cancel", "disable_order": "disable",
    "enable_order": "enable", "reassign_order": "reassign", "reschedule_order": "reschedule",
}
