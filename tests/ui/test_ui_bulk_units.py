"""Units of the bulk UI without an app: marks by identity, result lines, ordering, progress text."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from console.api.models import OrderRef, parse_order
from console.bulk.results import OrderResult, Progress
from console.bulk.results import ResultStatus as R
from console.ui.bulk_view import (
    MESSAGE_LINES,
    counts_text,
    problems_first,
    rate_text,
    result_lines,
    row_label,
    short_counts,
)
from console.session.marks import Marks, still_open
from console.session.table import OrderTable

A = OrderRef("A", "drop", 0, 0)
A_NEXT_ATTEMPT = OrderRef("A", "drop", 0, 1)
B = OrderRef("B", "drop", 0, 0)
C = OrderRef("C", "pick", 0, 0)


def plain(line) -> str:
    return "".join(text for text, _ in line)


def order(ref: OrderRef, status: str = "assigned", minutes: int = 0) -> object:
    body = {
        "order_handle": ref.order_handle, "status": status, "type": ref.type, "type_index": ref.type_index,
        "fulfillment_attempt": ref.fulfillment_attempt,
        "scheduled_at": datetime(2026, 11, 29, 19, minutes, tzinfo=timezone.utc).isoformat(),
    }
    return parse_order(json.dumps(body).encode())


def test_marks_are_by_full_identity_not_by_handle() -> None:
    marks = Marks()
    assert marks.toggle(A) is True
    assert A in marks and A_NEXT_ATTEMPT not in marks  # another attempt is another order
    version = marks.version
    assert marks.toggle(A) is False and A not in marks and marks.version > version
    assert marks.mark([A, B, A]) == 2 and len(marks) == 2
    assert marks.mark([A]) == 0
    assert marks.unmark([B, C]) == 1 and set(marks) == {A}
    assert marks.clear() == 1 and not marks


def test_frozen_follows_the_tables_order_and_prune_drops_what_left() -> None:
    table = OrderTable()
    table.merge([order(A, minutes=30), order(B, minutes=10), order(C, minutes=20)])
    marks = Marks()
    marks.mark([A, B, C])
    assert marks.frozen(table) == [B, C, A]  # display order (earliest scheduled first)
    table.set_sort(lambda row: row.ref.order_handle, reverse=True)
    assert marks.frozen(table) == [C, B, A]
    # B completed elsewhere: the next load no longer lists it, C is listed but not open.
    table.merge([order(A, minutes=30), order(C, status="cancelled", minutes=20)])
    assert set(marks.prune(still_open(table))) == {B, C}
    assert list(marks) == [A]


def test_result_lines_say_the_outcome_in_words_and_glyphs_and_keep_the_message() -> None:
    rejected = OrderResult(A, R.REJECTED, message="HTTP 422: [/oops] worker must be on site")
    head, message = result_lines(rejected, width=20)
    assert plain(head).startswith("✗ A (drop#0)") and plain(head).endswith("rejected")
    assert plain(message) == "    HTTP 422: [/oops] worker must be on site"
    [ascii_head, _] = result_lines(rejected, ascii=True, width=20)
    assert plain(ascii_head).startswith("x ")
    # A label that says it all has no message line.
    assert len(result_lines(OrderResult(A, R.COMPLETED, message="completed"))) == 1
    doubt = result_lines(OrderResult(A, R.IN_DOUBT, message="x" * 1000), wrap=40)
    assert plain(doubt[0]).startswith("? ") and "IN DOUBT" in plain(doubt[0])
    assert len(doubt) == 1 + MESSAGE_LINES and plain(doubt[-1]).endswith("…")
    # Control characters never reach the screen, whatever the message holds.
    [_, escaped] = result_lines(OrderResult(A, R.REJECTED, message="a\x1b]0;x\x07b"))
    assert "\x1b" not in plain(escaped) and "\\x1b" in plain(escaped)


def test_problems_first_then_the_runs_order() -> None:
    results = [OrderResult(B, R.COMPLETED), OrderResult(C, R.STOPPED), OrderResult(A, R.COMPLETED),
               OrderResult(A_NEXT_ATTEMPT, R.IN_DOUBT), OrderResult(OrderRef("D"), R.NOT_FOUND)]
    ordered = problems_first(results, [A, B, C])
    assert [r.status for r in ordered] == [R.IN_DOUBT, R.NOT_FOUND, R.STOPPED, R.COMPLETED, R.COMPLETED]
    assert [r.ref for r in ordered][-2:] == [A, B]


def test_progress_words() -> None:
    running = Progress(total=200, finished=120, succeeded=116, failed=3, in_doubt=1, in_flight=4,
                       elapsed=30.0, rate=4.0, eta=20.0)
    assert counts_text(running) == ("done 120/200 · completed 116 · failed 3 · in doubt 1 · not sent 0 · "
                                    "in flight 4")
    assert rate_text(running) == "4.0 orders/s · about 20s left"
    assert short_counts(running, ascii=True) == "120/200 done | 3 failed | 1 IN DOUBT"
    done = Progress(total=2, finished=2, succeeded=2, elapsed=65.0, rate=None)
    assert rate_text(done, ascii=True) == "rate - | took 1m"
    assert row_label(R.COMPLETED_RECONCILED) == "completed" and row_label(R.IN_DOUBT) == "IN DOUBT"
