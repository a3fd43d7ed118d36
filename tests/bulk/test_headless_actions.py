"""``dispatch-console cancel|disable|enable|reassign|reschedule``: what the operator sees, what the
server received (over real loopback HTTP, the fake HyperTrack served by
tests/support/loopback_fake.py) and the exit codes, as for ``complete``."""

from __future__ import annotations

import argparse
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from console.bulk import headless as H
from console.bulk.journal import JournalReader
from tests.support.fake_hypertrack import SECRET, FakeHyperTrack, check_invariants
from tests.support.loopback_fake import loopback_client, served_fake
from tests.bulk.test_actions_pipeline import make_fake
from tests.bulk.test_headless import Console

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 7, 9, 15, tzinfo=timezone.utc)  # 10:15 in Berlin


def parse(command: str, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dispatch-console")
    H.add_action_arguments(parser, command)
    args = parser.parse_args(argv)
    args.command = command
    return args


def act(fake: FakeHyperTrack, journal_path: Path, command: str, argv: list[str], *, stdin=None,
        interactive=False) -> tuple[int, Console]:
    console = Console()
    args = parse(command, [*argv, "--journal", str(journal_path)])
    with served_fake(fake) as base_url:
        code = H.run_action(
            args, client_factory=lambda: loopback_client(fake, base_url),
            stdin=stdin if stdin is not None else io.StringIO(""), stdout=console.stdout,
            stderr=console.stderr, interactive=interactive,
            engine_options={"sleep": fake.clock.sleep, "clock": fake.clock}, now=NOW, tz=BERLIN,
        )
    assert SECRET not in console.out and SECRET not in console.err
    return code, console


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


# ---------------------------------------------------------------------- each command


@pytest.mark.parametrize(("command", "argv", "before", "body", "done"), [
    ("cancel", ["--reason", "customer called"], "ongoing", {"metadata": {"cancel_reason": "customer called"}},
     "cancelled"),
    ("cancel", [], "ongoing", {}, "cancelled"),
    ("disable", [], "ongoing", {}, "disabled"),
    ("enable", [], "disabled", {}, "enabled"),
    ("reassign", ["--worker", "w-2", "--ops-group", "north"], "assigned",
     {"worker_handle": "w-2", "ops_group_handle": "north"}, "reassigned"),
    ("reschedule", ["--at", "14:30"], "assigned", {"scheduled_at": "2026-12-07T13:30:00Z"}, "rescheduled"),
])
def test_each_command_sends_its_action_and_reports_it(journal_path, command, argv, before, body, done):
    fake = make_fake(["a", "b", "outsider"], before)
    code, con = act(fake, journal_path, command, ["a", "b", *argv, "--yes", "--json"])
    assert code == 0, con.err
    lines = con.json_lines()
    assert [(d["order_handle"], d["result"], d["action"]) for d in lines] == [
        ("a", "completed", command), ("b", "completed", command)]
    assert sorted(fake.bodies, key=lambda sent: sent[0]) == [("a", command, body), ("b", command, body)]
    assert fake.orders["outsider"]["status"] == before
    assert f"summary: 2 {done}" in con.err
    # Progress on stderr, in the action's words (a decile line each, off a terminal).
    from console.bulk.actions import KINDS
    assert f"{KINDS[command].doing} 2/2: 2 done, 0 failed, 0 in doubt" in con.err
    with JournalReader(journal_path) as reader:
        ops = reader.list_ops()
    assert {(op.order_handle, op.action) for op in ops} == {("a", command), ("b", command)}
    assert all(op.params_dict == lines[0]["params"] for op in ops)
    check_invariants(fake, journal_path, ["a", "b"], outputs=[con.out, con.err])


def test_the_cancel_reason_is_sent_and_journaled_escaped(journal_path):
    fake = make_fake(["a"], "ongoing")
    code, con = act(fake, journal_path, "cancel", ["a", "--reason", "double\x1b[2J booking", "--yes", "--json"])
    assert code == 0, con.err
    assert fake.bodies == [("a", "cancel", {"metadata": {"cancel_reason": "double\\x1b[2J booking"}})]
    with JournalReader(journal_path) as reader:
        (op,) = reader.list_ops()
    assert op.params_dict == {"reason": "double\\x1b[2J booking"}  # escaped, never raw


def test_orders_the_action_does_not_apply_to_are_skipped_with_the_reason(journal_path):
    fake = make_fake(["open", "closing", "gone", "off"], "ongoing")
    fake.orders["closing"]["status"] = "summarizing"
    fake.orders["gone"]["status"] = "cancelled"
    fake.orders["off"]["status"] = "disabled"
    code, con = act(fake, journal_path, "disable", ["open", "closing", "gone", "off", "--yes"])
    assert code == 1, con.err
    rows = {line.split()[0]: line for line in con.out.splitlines()[1:]}
    assert "disabled" in rows["open"]
    assert "not sent: the order is summarizing (finished): it cannot be disabled" in rows["closing"]
    assert "not sent: the order is cancelled" in rows["gone"]
    assert "already disabled" in rows["off"]
    assert [h for h, _, _ in fake.bodies] == ["open"]
    with JournalReader(journal_path) as reader:
        states = {op.order_handle: (op.state, op.action) for op in reader.list_ops()}
    assert states == {"open": ("applied", "disable"), "closing": ("conflict", "disable"),
                      "gone": ("conflict", "disable"), "off": ("already_applied", "disable")}


def test_enable_on_a_working_order_is_already_enabled_and_not_sent(journal_path):
    fake = make_fake(["off", "on"], "disabled")
    fake.orders["on"]["status"] = "ongoing"
    code, con = act(fake, journal_path, "enable", ["off", "on", "--yes"])
    assert code == 0, con.err
    rows = {line.split()[0]: line for line in con.out.splitlines()[1:]}
    assert "enabled" in rows["off"] and "already enabled" in rows["on"]
    assert [h for h, _, _ in fake.bodies] == ["off"]
    assert fake.orders["off"]["status"] == "ongoing"


def test_an_order_already_in_the_end_state_is_reported_and_not_sent(journal_path):
    fake = make_fake(["a", "b"], "assigned")
    fake.orders["b"]["worker_handle"] = "w-2"
    code, con = act(fake, journal_path, "reassign", ["a", "b", "--worker", "w-2", "--yes"])
    assert code == 0, con.err
    assert "already reassigned" in con.out
    assert [h for h, _, _ in fake.bodies] == ["a"]


def test_reschedule_reads_relative_times_in_the_local_zone(journal_path):
    fake = make_fake(["a"], "assigned")
    code, con = act(fake, journal_path, "reschedule", ["a", "--at", "+1h30m", "--after", "+1h", "--yes"])
    assert code == 0, con.err
    assert fake.bodies == [("a", "reschedule", {"scheduled_at": "2026-12-07T10:45:00Z",
                                                "scheduled_after": "2026-12-07T10:15:00Z"})]


@pytest.mark.parametrize(("argv", "message"), [
    (["--at", "09:00"], "09:00 has already passed today (it is 10:15 now)"),
    (["--at", "soon"], "Cannot read 'soon' as a time"),
    (["--at", "+2h", "--after", "+3h"], "must not be later than the new time"),
])
def test_reschedule_refuses_past_and_unreadable_times_before_any_request(journal_path, argv, message):
    fake = make_fake(["a"], "assigned")
    code, con = act(fake, journal_path, "reschedule", ["a", *argv, "--yes"])
    assert code == 2 and message in con.err and con.err.startswith("dispatch-console reschedule: ")
    assert fake.log == [] and not journal_path.exists()


def test_reassign_refuses_a_worker_handle_with_control_characters(journal_path):
    fake = make_fake(["a"], "ongoing")
    code, con = act(fake, journal_path, "reassign", ["a", "--worker", "w\x1b]0;x\x07", "--yes"])
    assert code == 2 and "\x1b" not in con.err and "--worker" in con.err
    assert fake.log == []


def test_cancel_confirmation_says_it_cannot_be_undone_and_no_sends_nothing(journal_path):
    fake = make_fake(["a", "b"], "ongoing")
    code, con = act(fake, journal_path, "cancel", ["a", "b"], stdin=io.StringIO("n\n"), interactive=True)
    assert code == 1
    assert "About to cancel 2 order(s)" in con.err and "Cancelling cannot be undone." in con.err
    assert "Cancel them? [y/N]" in con.err and "nothing was sent" in con.err
    assert fake.posts() == []


def test_reassign_confirmation_names_the_worker(journal_path):
    fake = make_fake(["a"], "assigned")
    code, con = act(fake, journal_path, "reassign", ["a", "--worker", "w-7"], stdin=io.StringIO("y\n"),
                    interactive=True)
    assert code == 0, con.err
    assert "About to reassign 1 order(s)" in con.err and "(reassign to w-7)" in con.err


def test_no_terminal_and_no_yes_is_a_usage_error(journal_path):
    fake = make_fake(["a"], "ongoing")
    code, con = act(fake, journal_path, "disable", ["a"])
    assert code == 2 and "add --yes to disable without asking" in con.err
    assert fake.log == []


def test_f31_an_order_left_in_doubt_exits_75(journal_path):
    fake = make_fake(["a"], "ongoing")
    fake.post_faults["a"] = ["drop_after_apply"]
    original = fake.handler

    def handler(request):
        # The look-up GET succeeds; every GET after the POST (the read-back) fails.
        if request.method == "GET" and fake.posts("a"):
            fake.get_always_fails.add("a")
        return original(request)

    fake.handler = handler
    code, con = act(fake, journal_path, "disable", ["a", "--yes"])
    assert code == 75, con.err
    assert "IN DOUBT: they may or may not be disabled" in con.err
    assert len(fake.posts("a")) == 1


def test_journal_command_shows_action_and_params(journal_path):
    fake = make_fake(["a", "b"], "assigned")
    act(fake, journal_path, "reassign", ["a", "--worker", "w-2", "--yes"])
    act(fake, journal_path, "disable", ["b", "--yes"])
    con = Console()
    parser = argparse.ArgumentParser()
    H.add_journal_arguments(parser)
    assert H.run_journal(parser.parse_args(["--journal", str(journal_path)]), stdout=con.stdout,
                         stderr=con.stderr) == 0
    header, *rows = con.out.splitlines()
    assert header.split()[:6] == ["UPDATED", "STATE", "ORDER", "LEG", "ACTION", "PARAMS"]
    assert rows[0].split()[2:7] == ["reassigned", "a", "a0", "reassign", "worker=w-2"]
    assert rows[1].split()[2:7] == ["disabled", "b", "a0", "disable", "-"]
    con = Console()
    assert H.run_journal(parser.parse_args(["--json", "--journal", str(journal_path)]), stdout=con.stdout,
                         stderr=con.stderr) == 0
    assert [(d["order_handle"], d["action"], d["params"]) for d in con.json_lines()] == [
        ("a", "reassign", {"worker": "w-2"}), ("b", "disable", {})]


def test_the_command_line_registers_every_action_with_its_help():
    from console.cli import build_parser

    parser = build_parser()
    text = parser.format_help()
    for command in H.ACTION_COMMANDS:
        assert command in text
    with pytest.raises(SystemExit) as info:
        build_parser(["reassign", "a"]).parse_args(["reassign", "a"])
    assert info.value.code == 2  # --worker is required
    args = build_parser(["reschedule"]).parse_args(["reschedule", "--at", "+1h", "a"])
    assert args.command == "reschedule" and args.at == "+1h" and args.handles == ["a"]


def test_what_an_interrupted_run_of_another_action_left_is_settled_first_as_that_action(journal_path):
    """A reassign to w-2 whose process died after sending: the next command (a disable) settles
    it first, judged as that reassign, and reports it with its own action."""
    from console.api.models import OrderRef
    from console.bulk.actions import Reassign
    from console.bulk.journal import Journal

    fake = make_fake(["a", "b"], "assigned")
    with served_fake(fake) as base_url:
        with Journal(journal_path) as journal:
            run_id = journal.start_run(account_id="acct-test", base_url=base_url, count=1)
            (op_id,) = journal.add_ops(run_id, [OrderRef("a")], account_id="acct-test", base_url=base_url,
                                       actions=[("reassign", Reassign("w-2").params_json())])
            journal.record_intent(op_id, run_id)
        fake._apply("a", "reassign", {"worker_handle": "w-2"})
        console = Console()
        args = parse("disable", ["b", "--yes", "--json", "--journal", str(journal_path)])
        code = H.run_action(args, client_factory=lambda: loopback_client(fake, base_url), stdin=io.StringIO(""),
                            stdout=console.stdout, stderr=console.stderr, interactive=False,
                            engine_options={"sleep": fake.clock.sleep, "clock": fake.clock,
                                            "settle_window": 0.0})
    assert code == 0, console.err
    earlier, run = [d for d in console.json_lines() if d["source"] == "earlier_run"], \
        [d for d in console.json_lines() if d["source"] == "run"]
    assert [(d["order_handle"], d["result"], d["action"], d["params"]) for d in earlier] == [
        ("a", "completed_reconciled", "reassign", {"worker": "w-2"})]
    assert [(d["order_handle"], d["result"], d["action"]) for d in run] == [("b", "completed", "disable")]
    assert [(h, a) for h, a, _ in fake.bodies] == [("b", "disable")]  # "a" never re-sent
    assert fake.orders["a"]["status"] == "assigned" and fake.orders["a"]["worker_handle"] == "w-2"


SIGNAL_RUNNER = """
import argparse, json, sys
from console.bulk import headless as H
from tests.bulk.test_bulk_benchmark import slow_fake

journal, stats = sys.argv[1], sys.argv[2]
names = [f"o{i}" for i in range(60)]
fake = slow_fake(names, 0.02)
posted = []

def on_post(handle):
    posted.append(handle)
    print(f"POSTED {len(posted)}", file=sys.stderr, flush=True)

fake.on_post = on_post
parser = argparse.ArgumentParser()
H.add_action_arguments(parser, "cancel")
args = parser.parse_args([*names, "--reason", "storm", "--yes", "--json", "--concurrency", "2",
                          "--journal", journal])
args.command = "cancel"
code = H.run_action(args, client_factory=fake.client)
with open(stats, "w") as fh:
    json.dump({"posts": [r.handle for r in fake.posts()],
               "cancelled": sorted(h for h, o in fake.orders.items() if o["status"] == "cancelled")}, fh)
sys.exit(code)
"""


def test_f25_sighup_mid_cancel_records_in_flight_and_exits_129(tmp_path):
    """The SSH session closes during a bulk cancel: no new request, those in flight finish and
    are recorded with their action, exit 129; what is reported cancelled is what the server did."""
    import os
    import signal
    import subprocess
    import sys

    from tests.support.fake_hypertrack import journal_rows

    repo = Path(__file__).resolve().parents[2]
    journal, stats_path = tmp_path / "journal.sqlite3", tmp_path / "stats.json"
    proc = subprocess.Popen([sys.executable, "-c", SIGNAL_RUNNER, str(journal), str(stats_path)], cwd=repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(repo)})
    try:
        while True:  # until a few cancels reached the server (the runner ends the loop if it dies)
            line = proc.stderr.readline()
            assert line, "the runner ended before sending"
            if line.startswith("POSTED 3"):
                break
        proc.send_signal(signal.SIGHUP)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 129, err
    assert "Traceback" not in err
    stats = json.loads(stats_path.read_text())
    results = {d["order_handle"]: (d["result"], d["action"]) for d in map(json.loads, out.splitlines())}
    assert len(results) == 60 and {a for _, a in results.values()} == {"cancel"}
    cancelled = {h for h, (r, _) in results.items() if r == "completed"}
    assert 3 <= len(cancelled) < 60 and {r for r, _ in results.values()} <= {"completed", "stopped"}
    assert cancelled == set(stats["cancelled"]) and sorted(stats["posts"]) == sorted(cancelled)
    rows = journal_rows(journal)
    assert "sending" not in {r["state"] for r in rows}
    assert {(r["action"], r["params"]) for r in rows} == {("cancel", '{"reason":"storm"}')}
    assert {r["order_handle"] for r in rows if r["state"] == "applied"} == cancelled
