"""How a bulk run reads on screen: row labels, result lines, counts, rate and ETA.

Pure functions over the engine's plain data (no Textual, no I/O), shared by the progress screen,
the start-up settlement report, the status bar and the order list's per-row labels. Each result
carries a glyph and a word, so it reads without colour (NO_COLOR, monochrome, colour-blind); an
ASCII variant exists for terminals without Unicode.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from console.api.vocab import OrderRef
from console.bulk.results import OrderResult, Progress, ResultStatus
from console.ui.action_words import in_words
from console.ui.screens.bulk_lines import Line
from console.ui.text import format_duration, safe

if TYPE_CHECKING:
    from console.bulk.actions import Action

#: Width of the label column of a result line: the longest label, "completed (reconciled)".
LABEL_WIDTH = 22
HANDLE_WIDTH = 24

#: The order list's status column while a run holds the order (11 cells).
QUEUED = "queued"

_ROW_LABELS = {
    ResultStatus.COMPLETED: "completed",
    ResultStatus.COMPLETED_RECONCILED: "completed",
    ResultStatus.ALREADY_COMPLETED: "completed",
    ResultStatus.NOT_FOUND: "not found",
    ResultStatus.REJECTED: "rejected",
    ResultStatus.CONFLICT: "conflict",
    ResultStatus.FAILED_NOT_SENT: "failed",
    ResultStatus.AUTH_FAILED: "auth failed",
    ResultStatus.IN_DOUBT: "IN DOUBT",
    ResultStatus.NOT_APPLIED: "not applied",
    ResultStatus.STOPPED: "stopped",
    ResultStatus.NOT_SENT: "not sent",
}

# (unicode, ascii) glyph and the LineList kind per outcome class.
_SUCCESS = ("✓", "+", "ok")
_FAILURE = ("✗", "x", "failed")
_DOUBT = ("?", "?", "doubt")
_NOT_SENT = ("–", "-", "muted")


def row_label(status: ResultStatus) -> str:
    """The order list's status cell for an order a run has finished with."""
    return _ROW_LABELS[status]


def outcome_class(status: ResultStatus) -> tuple[str, str, str]:
    if status.is_success:
        return _SUCCESS
    if status is ResultStatus.IN_DOUBT:
        return _DOUBT
    if status.is_failure:
        return _FAILURE
    return _NOT_SENT


def handle_width(refs: Iterable[OrderRef]) -> int:
    """The handle column of result lines: the longest described ref, within limits."""
    longest = max((len(ref.describe()) for ref in refs), default=HANDLE_WIDTH)
    return max(18, min(longest, 40))


#: Continuation lines of one message at most (the journal keeps all of it).
MESSAGE_LINES = 3


def result_lines(result: OrderResult, *, ascii: bool = False, width: int = HANDLE_WIDTH,
                 wrap: int = 72, action: "Action | None" = None, name_action: bool = False) -> list[Line]:
    """One order's result: ``✓ ORD-1 (drop#0)   completed (reconciled)``, then its message on
    a line of its own (indented), so that a rejection's API message stays readable at 80
    columns. The message is the engine's sanitized text; the line widget sanitizes again and
    never parses markup. ``action``: the run's, whose words the label takes (complete's by default);
    ``name_action``: the label starts with the action's verb (results of several actions)."""
    glyph_u, glyph_a, kind = outcome_class(result.status)
    label = result.status.label if action is None else in_words(result.status.label, action)
    if name_action:
        label = f"{action.verb if action is not None else 'complete'}: {label}"
    if result.flagged:
        label += " (look at it)"
    head: list[tuple[str, str | None]] = [
        (glyph_a if ascii else glyph_u, kind),
        (" ", None),
        (_pad(result.ref.describe(), width), "strong"),
        (" ", None),
        (label, kind),
    ]
    lines: list[Line] = [head]
    message = safe(result.message)
    if message and message != result.status.label:
        kind = "muted" if result.status.is_success else None
        ellipsis = "..." if ascii else "…"
        chunks = textwrap.wrap(message, max(20, wrap - 4), break_long_words=True) or [message]
        if len(chunks) > MESSAGE_LINES:
            chunks = chunks[:MESSAGE_LINES]
            chunks[-1] = chunks[-1][: max(1, wrap - 4 - len(ellipsis))] + ellipsis
        lines.extend([("    " + chunk, kind)] for chunk in chunks)
    return lines


def ref_line(ref: OrderRef, note: str = "") -> Line:
    """A line of the review list: the order's handle and leg."""
    parts: list[tuple[str, str | None]] = [(ref.describe(), "strong")]
    if note:
        parts.append(("  " + note, "muted"))
    return parts


def _pad(text: str, width: int) -> str:
    return text if len(text) >= width else text + " " * (width - len(text))


def problems_first(results: list[OrderResult], order: Sequence[OrderRef] = ()) -> list[OrderResult]:
    """In doubt first, then failures, then never sent, then completed; within each, in the
    order of ``order`` (the run's input) when given, else as they came."""
    position = {ref: i for i, ref in enumerate(order)}

    def rank(result: OrderResult) -> int:
        status = result.status
        if status is ResultStatus.IN_DOUBT:
            return 0
        if status.is_failure:
            return 1
        if not status.is_success:
            return 2
        return 3

    return sorted(results, key=lambda r: (rank(r), position.get(r.ref, len(position))))


_NO_NEW_REQUESTS = "no new requests are sent"


def _reason(stop_message: str) -> str:
    """The engine's stop message without its "no new requests are sent" tail (the notes below
    say that themselves, once)."""
    reason = stop_message.strip() or "stopped"
    head, _, tail = reason.partition(":")
    return head if tail.strip().lower() == _NO_NEW_REQUESTS else reason


def stopping_note(stop_message: str, in_flight: int) -> str:
    """The progress screen's note while a run stops: why, that nothing new is sent (once), and
    what happens to the rest."""
    return (f"{_sentence(_reason(stop_message))} No new requests are sent; the {in_flight:,} request(s) "
            "in flight finish and are recorded. Orders never sent are listed as not sent.")


def stopped_note(stop_message: str, progress: Progress) -> str:
    """The note of a finished run that stopped early: why, and what was not sent."""
    never = progress.not_sent
    orders = "order" if never == 1 else "orders"
    return (f"{_sentence(_reason(stop_message))} {done_count(progress):,} of {progress.total:,} were done; "
            f"the {never:,} {orders} never sent are listed as not sent.")


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:] + "."


def sep(ascii: bool = False) -> str:
    return " | " if ascii else " · "


def done_count(progress: Progress) -> int:
    """Orders the run dealt with: finished, less those it never sent (stopped, not sent, not
    applied). A stopped run of 54 that completed 16 is "done 16/54 ... not sent 38", not 54/54."""
    return progress.finished - progress.not_sent


def counts_text(progress: Progress, *, ascii: bool = False) -> str:
    """``done 120/200 · completed 116 · failed 3 · in doubt 1 · not sent 0 · in flight 4``

    "done" leaves out the orders never sent: done + not sent + in flight + waiting = total."""
    return sep(ascii).join((
        f"done {done_count(progress):,}/{progress.total:,}", f"completed {progress.succeeded:,}",
        f"failed {progress.failed:,}", f"in doubt {progress.in_doubt:,}", f"not sent {progress.not_sent:,}",
        f"in flight {progress.in_flight:,}",
    ))


def rate_text(progress: Progress, *, ascii: bool = False) -> str:
    """``4.2 orders/s · about 23s left`` (a dash while unknown)."""
    dash = "-" if ascii else "—"
    rate = f"{progress.rate:.1f} orders/s" if progress.rate else f"rate {dash}"
    if progress.finished >= progress.total and progress.total:
        return f"{rate}{sep(ascii)}took {format_duration(progress.elapsed, missing=dash)}"
    eta = f"about {format_duration(progress.eta, missing=dash)} left" if progress.eta is not None else f"time left {dash}"
    return f"{rate}{sep(ascii)}{eta}"


def short_counts(progress: Progress, *, ascii: bool = False) -> str:
    """For the one-line status bar: ``120/200 done · 3 failed · 1 IN DOUBT · 2 not sent``."""
    parts = [f"{done_count(progress):,}/{progress.total:,} done"]
    if progress.failed:
        parts.append(f"{progress.failed:,} failed")
    if progress.in_doubt:
        parts.append(f"{progress.in_doubt:,} IN DOUBT")
    if progress.not_sent:
        parts.append(f"{progress.not_sent:,} not sent")
    return sep(ascii).join(parts)


# --------------------------------------------------------------------------- help


def help_descriptions(*, read_only: bool) -> dict[str, str]:
    """Help-screen wording of the app-level bulk keys (by action name)."""
    disabled = " [disabled: read-only]" if read_only else ""
    return {
        "toggle_mark": "mark or unmark the highlighted order",
        "mark_view": "mark every open order shown (the current filter)",
        "clear_marks": "clear all marks (and the last run's row labels)",
        "complete": "complete the marked orders (review first), or the highlighted one" + disabled,
        "retry_failed": "retry the failed orders of the last bulk run (still marked)" + disabled,
        "bulk_show": "show the bulk run's progress and results (it goes on when closed)",
    }


def help_contexts(*, typed_above: int) -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        ("Bulk review", [
            ("y, enter", "complete the listed orders"),
            ("n, escape", "leave them"),
            ("digits, enter", f"above {typed_above} orders: type the count to confirm"),
        ]),
        ("Bulk progress", [
            ("escape", "stop sending (requests in flight finish and are recorded); again: close"),
            ("b", "close; the run goes on (b on the list reopens it)"),
            ("R", "when finished: retry the failed orders"),
            ("enter, q", "when finished: close"),
        ]),
    ]


def help_note(ascii: bool) -> str:
    return HELP_NOTE.replace("✓", "*") if ascii else HELP_NOTE


HELP_NOTE = (
    "Marks (✓, ASCII *) follow each order through refresh, sort and filter, and go when the order "
    "leaves the open list. A bulk run acts on the reviewed list, is journaled, and checks anything "
    "in doubt with the server before sending again; failed orders stay marked."
)
