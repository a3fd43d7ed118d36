"""The headless commands: what the operator sees on stdout/stderr, what the server received, and
the exit codes. Each runs ``run_complete``/``run_orders``/``run_journal`` against the stateful fake."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from console.bulk import headless as H
from console.bulk.journal import Journal, JournalReader
from tests.support.fake_hypertrack import SECRET, FakeHyperTrack, check_invariants


class Console:
    """Captured stdout/stderr (text, with no ``buffer``)."""

    def __init__(self) -> None:
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()

    @property
    def out(self) -> str:
        return self.stdout.getvalue()

    @property
    def err(self) -> str:
        return self.stderr.getvalue()

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


class BytesStdin(io.TextIOWrapper):
    """Standard input carrying raw bytes (what ``-`` reads)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data), encoding="utf-8")

    def isatty(self) -> bool:
        return False


def parser_for(add) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dispatch-console")
    add(parser)
    return parser


def complete(fake: FakeHyperTrack, journal_path: Path, argv: list[str], *, stdin=None, interactive=False,
             console: Console | None = None) -> tuple[int, Console]:
    console = console or Console()
    args = parser_for(H.add_complete_arguments).parse_args([*argv, "--journal", str(journal_path)])
    code = H.run_complete(
        args, client_factory=fake.client, stdin=stdin if stdin is not None else io.StringIO(""),
        stdout=console.stdout, stderr=console.stderr, interactive=interactive,
        engine_options={"sleep": fake.clock.sleep, "clock": fake.clock},
    )
    return code, console


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


def no_secret(console: Console) -> None:
    assert SECRET not in console.out and SECRET not in console.err


# ---------------------------------------------------------------------- complete: the plain path


def test_every_order_completed_exit_0_with_json_lines_and_the_looked_up_identity(journal_path) -> None:
    fake = FakeHyperTrack(["a", "b", "c", "outsider"])
    fake.orders["b"].update(type="drop", type_index=1, fulfillment_attempt=2)
    code, con = complete(fake, journal_path, ["a", "b", "c", "--yes", "--json"])
    assert code == 0, con.err
    lines = con.json_lines()
    assert [(d["order_handle"], d["result"]) for d in lines] == [("a", "completed"), ("b", "completed"),
                                                                 ("c", "completed")]
    assert lines[1]["type"] == "drop" and lines[1]["fulfillment_attempt"] == 2
    post_b = fake.posts("b")[0]
    assert post_b.params == {"type": "drop", "type_index": "1", "fulfillment_attempt": "2"}
    assert fake.orders["outsider"]["status"] == "ongoing"
    assert "summary: 3 completed" in con.err
    check_invariants(fake, journal_path, ["a", "b", "c"], outputs=[con.out, con.err])


def test_a_bidi_handle_is_refused_and_shown_escaped(journal_path) -> None:
    hostile = "evil\u202eorder"
    fake = FakeHyperTrack(["a", hostile])
    code, con = complete(fake, journal_path, ["a", hostile, "--yes"])
    assert code == 2 and "argument 2" in con.err
    assert "\u202e" not in con.err and "evil\\u202eorder" in con.err
    assert fake.log == []


def test_the_table_shows_escaped_messages(journal_path) -> None:
    fake = FakeHyperTrack(["a", "[bold]b[/]"])
    fake.post_faults["a"] = ["422"]
    code, con = complete(fake, journal_path, ["a", "[bold]b[/]", "--yes"])
    assert code == 1
    assert "\x1b" not in con.out and "[bold]b[/]" in con.out
    header, *rows = con.out.splitlines()
    assert header.split()[:3] == ["ORDER", "LEG", "RESULT"]
    assert "rejected" in rows[0] and "Invalid \\x1b[31mrequest" in rows[0] and "query.type" in rows[0]
    no_secret(con)


def test_handles_from_a_file_and_from_stdin(journal_path, tmp_path) -> None:
    fake = FakeHyperTrack(["a", "b", "c"])
    listing = tmp_path / "orders.txt"
    listing.write_bytes(b"a\nb\n")
    code, con = complete(fake, journal_path, ["--from-file", str(listing), "-", "--yes", "--json"],
                         stdin=BytesStdin(b"c\n"))
    assert code == 0, con.err
    assert [d["order_handle"] for d in con.json_lines()] == ["a", "b", "c"]


def test_duplicates_are_removed_with_a_warning(journal_path, tmp_path) -> None:
    fake = FakeHyperTrack(["a", "b", "B"])
    listing = tmp_path / "orders.txt"
    listing.write_bytes(b"a\nb\na\nB\n")
    code, con = complete(fake, journal_path, ["--from-file", str(listing), "--yes", "--json"])
    assert code == 0
    assert "1 duplicate handle(s) removed" in con.err and f"{listing}:3" in con.err
    assert "'B'" in con.err and "looks like 'b'" in con.err  # near-duplicate: kept, but warned about
    assert len(fake.posts("a")) == 1 and len(con.json_lines()) == 3


# ---------------------------------------------------------------------- complete: usage errors


def test_every_bad_line_is_reported_with_its_line_number_escaped_and_nothing_is_sent(journal_path, tmp_path) -> None:
    fake = FakeHyperTrack(["ok"])
    listing = tmp_path / "orders.txt"
    listing.write_bytes(
        b"\xef\xbb\xbfok\n"          # 1: BOM
        b"ok2\r\n"                   # 2: CRLF
        b"\n"                        # 3: empty
        b"   \n"                     # 4: whitespace only
        b" padded\n"                 # 5: leading space
        b"esc\x1b]2;pwned\x07\n"     # 6: control characters
        b"..\n"                      # 7: dot-dot
        + b"x" * 300 + b"\n"         # 8: too long
        b"\xff\xfe\n"                # 9: not UTF-8
        b"fine\n"                    # 10
    )
    code, con = complete(fake, journal_path, ["--from-file", str(listing), "--yes"])
    assert code == 2
    for line in (1, 2, 3, 4, 5, 6, 7, 8, 9):
        assert f"{listing}:{line}:" in con.err, line
    assert f"{listing}:10" not in con.err
    assert "\x1b" not in con.err and "esc\\x1b]2;pwned\\x07" in con.err
    assert "CRLF" in con.err and "byte-order mark" in con.err
    assert "nothing was sent" in con.err
    assert fake.log == [] and not journal_path.exists()


def test_bad_positional_handles_are_usage_errors(journal_path) -> None:
    fake = FakeHyperTrack(["a"])
    code, con = complete(fake, journal_path, ["a", "", "--yes"])
    assert code == 2 and "argument 2" in con.err and fake.log == []
    code, con = complete(fake, journal_path, ["--yes"])
    assert code == 2 and "no order handles" in con.err


def test_no_terminal_and_no_yes_is_a_usage_error_before_any_request(journal_path) -> None:
    fake = FakeHyperTrack(["a"])
    code, con = complete(fake, journal_path, ["a"], interactive=False)
    assert code == 2 and "--yes" in con.err
    assert fake.log == []


def test_handles_on_stdin_need_yes(journal_path) -> None:
    fake = FakeHyperTrack(["a"])
    code, con = complete(fake, journal_path, ["-"], stdin=BytesStdin(b"a\n"), interactive=None)
    assert code == 2 and "carries the handles" in con.err and fake.log == []


def test_concurrency_out_of_range_is_a_usage_error(journal_path) -> None:
    fake = FakeHyperTrack(["a"])
    code, con = complete(fake, journal_path, ["a", "--yes", "--concurrency", "17"])
    assert code == 2 and "--concurrency" in con.err and fake.log == []


# ---------------------------------------------------------------------- complete: confirmation


def test_confirmation_yes_and_no(journal_path) -> None:
    fake = FakeHyperTrack(["a", "b"])
    code, con = complete(fake, journal_path, ["a", "b"], stdin=io.StringIO("n\n"), interactive=True)
    assert code == 1 and "nothing was sent" in con.err and "About to complete 2 order(s)" in con.err
    assert fake.posts() == []
    code, con = complete(fake, journal_path, ["a", "b"], stdin=io.StringIO("y\n"), interactive=True)
    assert code == 0 and len(fake.posts()) == 2


def test_above_twenty_orders_the_count_must_be_typed(journal_path) -> None:
    names = [f"o{i}" for i in range(21)]
    fake = FakeHyperTrack(names)
    code, con = complete(fake, journal_path, names, stdin=io.StringIO("y\n"), interactive=True)
    assert code == 1 and "Type 21 to complete them" in con.err and fake.posts() == []
    code, con = complete(fake, journal_path, names, stdin=io.StringIO("21\n"), interactive=True)
    assert code == 0 and len(fake.posts()) == 21


# ---------------------------------------------------------------------- complete: exit codes


def test_already_completed_and_reconciled_still_exit_0(journal_path) -> None:
    fake = FakeHyperTrack(["done", "lost"])
    fake.orders["done"].update(status="completed", completed_at="2026-01-01T00:00:00.000Z")
    fake.post_faults["lost"] = ["drop_after_apply"]
    code, con = complete(fake, journal_path, ["done", "lost", "--yes", "--json"])
    assert code == 0, con.err
    assert {d["order_handle"]: d["result"] for d in con.json_lines()} == {
        "done": "already_completed", "lost": "completed_reconciled"}
    assert fake.posts("done") == []  # the lookup showed it completed: never POSTed
    check_invariants(fake, journal_path, ["done", "lost"], outputs=[con.out, con.err])


def test_some_failed_exit_1(journal_path) -> None:
    fake = FakeHyperTrack(["a", "gone"])
    fake.orders["gone"]["status"] = "cancelled"
    code, con = complete(fake, journal_path, ["a", "gone", "missing", "--yes", "--json"])
    assert code == 1
    assert {d["order_handle"]: d["result"] for d in con.json_lines()} == {
        "a": "completed", "gone": "conflict", "missing": "not_found"}
    assert [r.handle for r in fake.posts()] == ["a"]


def test_f31_an_order_left_in_doubt_exits_75(journal_path) -> None:
    fake = FakeHyperTrack(["a", "b"])
    fake.post_faults["a"] = ["drop_after_apply"]
    original = fake.handler
    gets = {"a": 0}

    def handler(request):
        # the lookup GET works; every GET after the POST fails
        if request.method == "GET" and fake.posts("a"):
            fake.get_always_fails.add("a")
        return original(request)

    fake.handler = handler
    code, con = complete(fake, journal_path, ["a", "b", "--yes", "--json"])
    assert code == 75, con.err
    assert {d["order_handle"]: d["result"] for d in con.json_lines()} == {"a": "in_doubt", "b": "completed"}
    assert "IN DOUBT" in con.err and len(fake.posts("a")) == 1
    check_invariants(fake, journal_path, ["a", "b"], outputs=[con.out, con.err])
    del gets


def test_401_at_lookup_exits_4_and_sends_nothing(journal_path) -> None:
    fake = FakeHyperTrack(["a", "b"])
    fake.revoked = True
    code, con = complete(fake, journal_path, ["a", "b", "--yes"])
    assert code == 4 and "authentication failed" in con.err and fake.posts() == []
    no_secret(con)


def test_f32_401_in_the_middle_exits_4_and_the_rest_stay_pending(journal_path) -> None:
    names = [f"o{i}" for i in range(10)]
    fake = FakeHyperTrack(names)
    fake.revoke_after_posts = 3
    code, con = complete(fake, journal_path, [*names, "--yes", "--json", "--concurrency", "1"])
    assert code == 4
    results = [d["result"] for d in con.json_lines()]
    assert results[:3] == ["completed"] * 3 and results[3] == "auth_failed"
    assert set(results[4:]) == {"not_sent"}
    check_invariants(fake, journal_path, names, outputs=[con.out, con.err])


def test_a_locked_journal_exits_3_before_any_request(journal_path) -> None:
    fake = FakeHyperTrack(["a"])
    with Journal(journal_path):
        code, con = complete(fake, journal_path, ["a", "--yes"])
    assert code == 3 and "in use by process" in con.err and fake.log == []


def test_an_interrupted_earlier_run_is_settled_and_reported_first(journal_path) -> None:
    from tests.bulk.test_bulk_engine import interrupted_run

    fake = FakeHyperTrack(["x", "y", "z"])
    with Journal(journal_path) as journal:
        interrupted_run(journal, fake, ["x", "y"], applied={"x"})
    code, con = complete(fake, journal_path, ["x", "y", "z", "--yes", "--json"])
    assert code == 0, con.err
    lines = con.json_lines()
    earlier = [d for d in lines if d["source"] == "earlier_run"]
    assert {d["order_handle"]: d["result"] for d in earlier} == {"x": "completed_reconciled", "y": "not_applied"}
    assert lines[:2] == earlier  # reported first
    run = {d["order_handle"]: d["result"] for d in lines if d["source"] == "run"}
    assert run == {"x": "already_completed", "y": "completed", "z": "completed"}
    assert fake.posts("x") == [] and len(fake.posts("y")) == 1
    assert "earlier runs left unsettled (an interrupted run" in con.err
    assert all("interrupted before recording the answer" in d["message"] for d in earlier)
    assert {d["earlier"] for d in earlier} == {"interrupted"}
    check_invariants(fake, journal_path, ["x", "y", "z"], outputs=[con.out, con.err])


def test_orders_the_look_up_settles_are_in_the_journal_with_their_reason(journal_path) -> None:
    """Orders found completed, cancelled or missing by the look-up were in the output but not in
    the journal: the record of the run was incomplete."""
    fake = FakeHyperTrack(["a", "done", "gone"])
    fake.orders["done"].update(status="completed", completed_at="2026-01-01T00:00:00.000Z")
    fake.orders["gone"]["status"] = "cancelled"
    code, con = complete(fake, journal_path, ["a", "done", "gone", "nope", "--yes", "--json"])
    assert code == 1, con.err
    with JournalReader(journal_path) as reader:
        (run,) = reader.list_runs()
        ops = {op.order_handle: op for op in reader.list_ops()}
    assert run.order_count == 4
    assert {h: op.state for h, op in ops.items()} == {
        "a": "applied", "done": "already_applied", "gone": "conflict", "nope": "not_found"}
    assert {op.run_id for op in ops.values()} == {run.run_id}
    assert "already completed" in ops["done"].message and "cancelled" in ops["gone"].message
    assert ops["nope"].http_status == 404 and ops["done"].attempts == 0
    printed = {d["order_handle"]: d["op_id"] for d in con.json_lines()}
    assert printed == {h: op.op_id for h, op in ops.items()}  # the output names each journal row
    assert fake.posts("done") == fake.posts("gone") == fake.posts("nope") == []


def test_nothing_to_send_still_records_the_run(journal_path) -> None:
    fake = FakeHyperTrack(["done"])
    fake.orders["done"].update(status="completed", completed_at="2026-01-01T00:00:00.000Z")
    code, con = complete(fake, journal_path, ["done", "--yes"])
    assert code == 0, con.err
    with JournalReader(journal_path) as reader:
        assert [(op.order_handle, op.state) for op in reader.list_ops()] == [("done", "already_applied")]
    assert fake.posts() == []


# ---------------------------------------------------------------------- orders


def run_orders(fake: FakeHyperTrack, argv: list[str]) -> tuple[int, Console]:
    con = Console()
    args = parser_for(H.add_orders_arguments).parse_args(argv)
    return H.run_orders(args, client_factory=fake.client, stdout=con.stdout, stderr=con.stderr), con


def test_orders_lists_every_page_as_a_table_or_json() -> None:
    names = [f"o{i:03d}" for i in range(250)] + ["bad\x1b[2J"]
    fake = FakeHyperTrack(names)
    fake.orders["o001"]["status"] = "completed"
    code, con = run_orders(fake, ["--json", "--all"])
    assert code == 0
    got = [d["order_handle"] for d in con.json_lines()]
    assert got == names and len([r for r in fake.log if r.method == "GET"]) == 3
    assert "\x1b" not in con.out  # escaped by JSON itself, handle kept exact for machines
    code, con = run_orders(fake, ["--status", "ongoing"])
    assert code == 0
    header, *rows = con.out.splitlines()
    assert header.split()[:3] == ["!", "SEORATBU", "ORDER"] and len(rows) == 250
    assert rows[-1][header.index("ORDER"):].startswith("bad\\x1b[2J") and "\x1b" not in con.out
    assert "250 order(s)" in con.err


def test_orders_errors() -> None:
    fake = FakeHyperTrack(["a"])
    code, con = run_orders(fake, ["--status", "nonsense"])
    assert code == 2 and "unknown status" in con.err
    fake.revoked = True
    code, con = run_orders(fake, [])
    assert code == 4 and "Traceback" not in con.err
    assert len(con.err.strip().splitlines()) == 1


# ---------------------------------------------------------------------- journal


def test_journal_command_lists_ops_as_table_or_json(journal_path) -> None:
    fake = FakeHyperTrack(["a", "b"])
    fake.post_faults["b"] = ["422"]
    complete(fake, journal_path, ["a", "b", "--yes"])
    con = Console()
    args = parser_for(H.add_journal_arguments).parse_args(["--json", "--journal", str(journal_path)])
    assert H.run_journal(args, stdout=con.stdout, stderr=con.stderr) == 0
    ops = con.json_lines()
    assert [(o["order_handle"], o["state"], o["account_id"], o["base_host"]) for o in ops] == [
        ("a", "applied", "acct-test", "api.hypertrack.test"),
        ("b", "rejected", "acct-test", "api.hypertrack.test")]
    assert "secret" not in json.dumps(ops).lower()
    con = Console()
    args = parser_for(H.add_journal_arguments).parse_args(["--since", "2h", "--journal", str(journal_path)])
    assert H.run_journal(args, stdout=con.stdout, stderr=con.stderr) == 0
    assert con.out.splitlines()[0].split()[:3] == ["UPDATED", "STATE", "ORDER"]
    args = parser_for(H.add_journal_arguments).parse_args(["--since", "2000-01-01T00:00:00Z", "--journal",
                                                           str(journal_path)])
    con = Console()
    assert H.run_journal(args, stdout=con.stdout, stderr=con.stderr) == 0 and "completed" in con.out


def test_journal_since_parsing() -> None:
    from datetime import datetime, timezone

    now = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    assert H.parse_since("2h", now=now) == datetime(2026, 5, 1, 10, 0, tzinfo=timezone.utc)
    assert H.parse_since("30m", now=now) == datetime(2026, 5, 1, 11, 30, tzinfo=timezone.utc)
    assert H.parse_since("2026-04-30T08:00:00+02:00") == datetime(2026, 4, 30, 6, 0, tzinfo=timezone.utc)
    with pytest.raises(H.UsageError):
        H.parse_since("yesterday")
    con = Console()
    args = parser_for(H.add_journal_arguments).parse_args(["--since", "soon"])
    assert H.run_journal(args, stdout=con.stdout, stderr=con.stderr) == 2


def test_a_refused_certificate_exits_3(journal_path) -> None:
    fake = FakeHyperTrack(["a", "b"])
    fake.post_faults["a"] = ["cert"]
    code, con = complete(fake, journal_path, ["a", "b", "--yes", "--json", "--concurrency", "1"])
    assert code == 3
    assert [d["result"] for d in con.json_lines()] == ["failed_not_sent", "not_sent"]
    assert "certificate" in con.err and fake.posts("b") == []


def test_a_client_that_cannot_be_built_is_one_line_not_a_traceback(journal_path) -> None:
    from console.api.errors import InvalidRequest

    def broken():
        raise InvalidRequest("plain http is only allowed for loopback hosts; use https://example.com")

    con = Console()
    args = parser_for(H.add_complete_arguments).parse_args(["a", "--yes", "--journal", str(journal_path)])
    assert H.run_complete(args, client_factory=broken, stdout=con.stdout, stderr=con.stderr) == 3
    assert con.err.count("\n") == 1 and "loopback" in con.err and "Traceback" not in con.err
    con = Console()
    args = parser_for(H.add_orders_arguments).parse_args([])
    assert H.run_orders(args, client_factory=broken, stdout=con.stdout, stderr=con.stderr) == 3
    assert con.err.count("\n") == 1


def test_settle_window_option_reaches_the_engine_and_is_checked(journal_path, monkeypatch) -> None:
    from console.bulk import engine as engine_module

    seen: list[float] = []
    real = engine_module.BulkEngine.__init__

    def spy(self, *args, **kwargs):
        real(self, *args, **kwargs)
        seen.append(self.settle_window)

    monkeypatch.setattr(engine_module.BulkEngine, "__init__", spy)
    fake = FakeHyperTrack(["a"])
    code, con = complete(fake, journal_path, ["a", "--yes", "--settle-window", "75"])
    assert code == 0, con.err
    assert seen == [75.0]
    seen.clear()
    code, con = complete(fake, journal_path, ["a", "--yes"])
    assert seen == [60.0]  # the default: the client's 45 s attempt deadline + 15 s
    code, con = complete(fake, journal_path, ["a", "--yes", "--settle-window", "-3"])
    assert code == 2 and "--settle-window must be from 0 to 3600" in con.err
