"""At start-up: what happened to each unfinished order of an interrupted bulk run.

A run that died (the terminal closed, the SSH link dropped, the process was killed) leaves
intents without outcomes in the journal, and orders it never got to. Before the console sends
anything, each intent is read back with a GET; this screen lists every such order so the
supervisor knows exactly what happened: completed after all, not completed (the request did not
take effect, or was never sent: marked again, ready for ``c``), cancelled, gone, or still in
doubt (the GET failed: check the order by hand)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from console.bulk.results import OrderResult, ResultStatus
from console.ui.bulk_view import handle_width, problems_first, result_lines
from console.ui.screens.bulk_lines import LineList

if TYPE_CHECKING:
    from console.bulk.actions import Action


class BulkSettledScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "close", "Close", id="bulk_settled.close"),
    ]

    def __init__(self, results: Sequence[OrderResult], *, ascii: bool = False,
                 actions: Mapping[str, Action] | None = None) -> None:
        """``actions``: op id -> the action that op's run sent (complete when not given): each
        result reads in its action's words."""
        super().__init__()
        self.results = list(results)
        self.ascii = ascii
        self.actions = dict(actions or {})

    def _action(self, result: OrderResult) -> Action | None:
        return self.actions.get(result.op_id) if result.op_id else None

    def _others(self) -> list[str]:
        """The verbs of the actions other than complete among the results, in their order."""
        verbs: list[str] = []
        for result in self.results:
            action = self._action(result)
            if action is not None and action.name != "complete" and action.verb not in verbs:
                verbs.append(action.verb)
        return verbs

    def compose(self) -> ComposeResult:
        results = self.results
        n = len(results)
        completed = sum(1 for r in results if r.status.is_success)
        not_done = sum(1 for r in results if r.status in (ResultStatus.NOT_APPLIED, ResultStatus.NOT_SENT))
        doubt = sum(1 for r in results if r.status is ResultStatus.IN_DOUBT)
        other = n - completed - not_done - doubt
        summary = Text(no_wrap=False)
        summary.append(f"Earlier runs left {n:,} order(s) unsettled (interrupted before an answer, or in doubt). "
                       "What happened to each, checked with the server before anything else was sent: ")
        others = self._others()
        if not others:
            summary.append(f"{completed:,} completed (the request had arrived), ")
            summary.append(f"{not_done:,} not completed (marked again: c sends them after a review), ")
            summary.append(f"{other:,} cancelled or gone, ")
        else:
            # Runs of other actions among them: "c" would complete what was being cancelled, ...
            summary.append(f"{completed:,} applied (the request had arrived), ")
            summary.append(f"{not_done:,} not applied (marked again: the key of the action listed with "
                           f"each sends them after a review; not c unless it was a completion), ")
            summary.append(f"{other:,} ended another way or gone, ")
        summary.append(f"{doubt:,} still in doubt", "bold" if doubt else "")
        summary.append(" (the check failed: look at those orders before sending again)." if doubt else ".")
        with Vertical(id="bulk-settled-dialog"):
            yield Static(Text("Earlier runs settled", "bold"), id="bulk-settled-title")
            yield Static(summary, id="bulk-settled-summary")
            yield LineList(ascii=self.ascii, id="bulk-settled-list")
            yield Static(Text.assemble(("Esc", "bold"), "/", ("Enter", "bold"), " close    ",
                                       ("up/down/PgUp/PgDn", "bold"), " scroll"), id="bulk-settled-keys")

    def on_mount(self) -> None:
        lines = self.query_one(LineList)
        lines.focus()
        self.call_after_refresh(self._fill)

    def _fill(self) -> None:
        """Once laid out: the messages are wrapped to the list's width."""
        lines = self.query_one(LineList)
        width = handle_width(r.ref for r in self.results)
        wrap = lines.scrollable_content_region.width or 72
        name_action = bool(self._others())  # once, not once a result (it walks them all)
        lines.set_lines(line for r in problems_first(self.results)
                        for line in result_lines(r, ascii=self.ascii, width=width, wrap=wrap,
                                                 action=self._action(r), name_action=name_action))

    def action_close(self) -> None:
        self.dismiss(None)
