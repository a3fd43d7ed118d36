"""Headless commands: ``complete``, ``orders`` and ``journal``, for scripts and SSH sessions.

``dispatch-console complete HANDLE... | --from-file FILE | -``

- Every handle is validated first (file line numbers in the messages); duplicates are removed
  with a warning; nothing is sent if any handle is bad.
- A ``HANDLE`` means the order leg and attempt that ``GET /orders/HANDLE`` returns (the order's
  current leg): each handle is looked up first, and its ``type``, ``type_index`` and
  ``fulfillment_attempt`` are sent with the completion, so a POST never lands on a leg or
  attempt other than the one looked up. Orders the lookup shows completed or cancelled are not
  sent at all.
- Orders an interrupted earlier run left in doubt are settled by GET and reported first.
- On a terminal it asks for confirmation (above 20 orders, type the count); ``--yes`` skips it,
  and is required when standard input is not a terminal (or carries the handles, ``-``).
- Progress goes to stderr; one result per order to stdout (a table, or JSON lines with ``--json``).
- Ctrl-C stops sending new requests; those in flight finish and are recorded. A second Ctrl-C
  abandons them (their intents stay in the journal and are settled on the next run).
- SIGTERM and SIGHUP (the SSH session closed) do what the first Ctrl-C does, and exit 143 and
  129 once the requests in flight are recorded.

Exit codes (the most serious wins, in this order):

====  =====================================================================================
 2    usage error: bad arguments or handles, no terminal to confirm on and no ``--yes``
 4    authentication failed (401/403); orders not yet sent stay pending
 75   some orders are in doubt (may or may not be completed; could not be checked), or the
      server asked us to wait too long (429): check them, run again later
 3    the run could not start or had to stop: the journal is locked by another run, cannot
      be written or is damaged, the connection could not be set up, the server's TLS
      certificate was refused, or an unexpected error (a bug; one line on stderr)
 130  interrupted (SIGINT); 143 on SIGTERM, 129 on SIGHUP
 1    some orders were not completed (not found, rejected, conflict, not sent), or the
      operator declined the confirmation
 0    every order is completed (including already completed and reconciled ones)
====  =====================================================================================

The other write actions run exactly like ``complete`` (the same validation, look-up,
confirmation, progress, results, journal and exit codes, "completed" read as the action's end
state), each through the same engine:

``dispatch-console cancel|disable|enable HANDLE... | --from-file FILE | -``,
``dispatch-console reassign --worker W [--ops-group G] HANDLE...`` and
``dispatch-console reschedule --at TIME [--after TIME] HANDLE...`` (TIME: ``+30m``, ``14:30``
today in the local zone, or ISO 8601; :mod:`console.timeparse`). The look-up skips, with the
reason, every order the action does not apply to (``Action.refusal``); an order already in the
action's end state is reported as such and not sent.

``dispatch-console orders`` lives in :mod:`console.orders_command` (re-exported here).

``dispatch-console journal [--json] [--since 2h|30m|1d|ISO-8601] [--all] [--move-aside]`` shows
the current target's runs (``--all``: every target's), or moves a damaged journal aside.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TextIO

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANNOT_RUN = 3
EXIT_AUTH = 4
EXIT_IN_DOUBT = 75
EXIT_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
#: Above this many orders the operator types the count to confirm (as in the UI).
TYPED_CONFIRMATION_ABOVE = 20

EXIT_CODES_HELP = """\
exit codes:
  0    every order is completed (including already completed / reconciled)
  1    some orders were not completed (not found, rejected, conflict, not sent)
  2    usage error (bad arguments or handles; no terminal and no --yes)
  3    could not run: journal locked, not writable or damaged, no connection, TLS certificate
       refused, or an unexpected error
  4    authentication failed; orders not yet sent stay pending
  75   some orders are in doubt (check them), or throttled too long: run again later
  130  interrupted (Ctrl-C): orders in flight finished and were recorded
  143  stopped by SIGTERM, 129 by SIGHUP (SSH session closed): as Ctrl-C

HANDLE means the order leg and attempt that GET /orders/HANDLE returns (its current
leg); that identity is looked up first and sent with the completion."""


class UsageError(Exception):
    pass


#: The write commands besides ``complete``, each one action of console.bulk.actions.
ACTION_COMMANDS = ("cancel", "disable", "enable", "reassign", "reschedule")
_ACTION_DESCRIPTIONS = {
    "cancel": "Cancel orders without the UI (cancelling cannot be undone): validate, look up, confirm, "
              "cancel, report.",
    "disable": "Disable orders without the UI (out of the route's ETA computation, to fulfil later): "
               "validate, look up, confirm, disable, report.",
    "enable": "Enable disabled orders without the UI (back into the route): validate, look up, confirm, "
              "enable, report.",
    "reassign": "Reassign orders to another worker without the UI: validate, look up, confirm, reassign, "
                "report. Applied when the order shows the new worker.",
    "reschedule": "Reschedule orders without the UI: validate, look up, confirm, reschedule, report. A "
                  "dispatched order is cancelled and re-created unplanned with the new time (documented "
                  "API behaviour), which counts as rescheduled.",
}


def exit_codes_help(done: str = "completed") -> str:
    """The exit-code epilog of a write command whose end state is ``done``."""
    return EXIT_CODES_HELP.replace("completed", done).replace("with the completion", "with the request")


@dataclass(frozen=True)
class JournalTarget:
    """Whose runs a journal command is about: the embedded sandbox, or an account on a server.
    ``account_id`` None: any account on that server."""

    sandbox: bool
    base_url: str
    account_id: str | None = None

    def describe(self) -> str:
        from console.api.sanitize import sanitize
        from console.bulk.journal import base_host

        if self.sandbox:
            return "the embedded sandbox"
        who = f"account {sanitize(self.account_id)} at " if self.account_id else ""
        return who + sanitize(base_host(self.base_url))


def _target_of(client_factory: Any) -> JournalTarget | None:
    """The target a client factory built by the command line is for (None: a factory without one)."""
    target = getattr(client_factory, "target", None)
    if target is None:
        return None
    return JournalTarget(bool(target.sandbox), str(target.base_url), getattr(target, "account_id", None))


# =============================================================================== arguments


def add_complete_arguments(parser: argparse.ArgumentParser, done: str = "completed") -> None:
    parser.description = "Complete orders without the UI: validate, look up, confirm, complete, report."
    parser.epilog = EXIT_CODES_HELP
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("handles", nargs="*", metavar="HANDLE",
                        help="order handles; '-' reads them from standard input, one a line")
    parser.add_argument("--from-file", metavar="FILE", help="read order handles from FILE, one a line (UTF-8, LF)")
    parser.add_argument("--yes", "-y", action="store_true",
                        help="do not ask for confirmation (required when standard input is not a terminal)")
    parser.add_argument("--json", action="store_true", help="one JSON object per order on stdout")
    # SUPPRESS: `dispatch-console --concurrency 8 complete ...` must keep the 8 given before.
    parser.add_argument("--concurrency", type=int, metavar="N", default=argparse.SUPPRESS,
                        help="requests in flight at once, 1-16 (default 4)")
    parser.add_argument("--settle-window", type=float, metavar="SECONDS", default=argparse.SUPPRESS,
                        help="how long a sent request may still be in flight: a read-back inside it that shows "
                        f"the order not {done} waits (Ctrl-C leaves it in doubt) (0-3600, default 60)")
    parser.add_argument("--journal", metavar="PATH",
                        help="the journal file (default: $DISPATCH_CONSOLE_JOURNAL or the platform data directory; "
                        "the embedded sandbox's runs go to NAME-sandbox beside it)")


def add_action_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """The arguments of ``command`` (one of :data:`ACTION_COMMANDS`): those of ``complete``,
    plus the action's own parameters."""
    from console.bulk.actions import KINDS

    add_complete_arguments(parser, KINDS[command].done)
    parser.description = _ACTION_DESCRIPTIONS[command]
    parser.epilog = exit_codes_help(KINDS[command].done)
    if command == "cancel":
        parser.add_argument("--reason", metavar="TEXT",
                            help="why: sent as the order's metadata.cancel_reason and recorded in the journal")
    elif command == "reassign":
        parser.add_argument("--worker", metavar="W", required=True, help="the new worker's handle")
        parser.add_argument("--ops-group", metavar="G", dest="action_ops_group",
                            help="the ops group, needed when the worker belongs to more than one")
    elif command == "reschedule":
        parser.add_argument("--at", metavar="TIME", required=True,
                            help="the new time: +30m, +2h, +1h30m, 14:30 (today, local zone; refused once "
                            "passed) or ISO 8601 (no offset: local zone)")
        parser.add_argument("--after", metavar="TIME",
                            help="the earliest start (scheduled_after), same forms as --at, not later than it")


def action_from_args(args: argparse.Namespace, *, now: datetime | None = None, tz: Any = None) -> Any:
    """The action a write command asks for, with its parameters; raises UsageError."""
    from console.api.client import body_text
    from console.api.errors import InvalidRequest
    from console.api.handles import describe_handle
    from console.bulk import actions
    from console.timeparse import parse_when

    command = getattr(args, "command", None) or "complete"
    if command in actions.ACTIONS:
        if command == "cancel" and getattr(args, "reason", None):
            return actions.Cancel(reason=args.reason)
        return actions.ACTIONS[command]
    if command == "reassign":
        for option, value in (("--worker", args.worker), ("--ops-group", getattr(args, "action_ops_group", None))):
            if value is None:
                continue
            try:
                body_text(option, value)  # what the client would refuse to send
            except InvalidRequest:
                raise UsageError(f"{option} {describe_handle(value)} is not a handle (empty, surrounding spaces, "
                                 "control characters or too long)") from None
        return actions.Reassign(worker=args.worker, ops_group=getattr(args, "action_ops_group", None))
    if command == "reschedule":
        now = now or datetime.now(timezone.utc)
        tz = tz or datetime.now().astimezone().tzinfo
        try:
            at = parse_when(args.at, now=now, tz=tz)
            after = parse_when(args.after, now=now, tz=tz) if getattr(args, "after", None) else None
            return actions.Reschedule(at=at, after=after)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    raise UsageError(f"unknown action {command}")


def add_journal_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Show what bulk runs did to each order (newest last): by default the runs "
                          "against the current target (the account and server `complete` would use).")
    parser.add_argument("--json", action="store_true", help="one JSON object per op")
    parser.add_argument("--since", metavar="WHEN",
                        help="only ops updated since WHEN: 30m, 2h, 1d, or an ISO-8601 time (local if no zone)")
    parser.add_argument("--all", action="store_true", dest="all_targets",
                        help="every target's runs: real accounts and the embedded sandbox")
    parser.add_argument("--move-aside", action="store_true",
                        help="rename a damaged journal (and its -wal/-shm files) to NAME.damaged-<UTC time>, "
                        "keeping it, so that the next run starts a new one")
    parser.add_argument("--journal", metavar="PATH",
                        help="the journal file (default: $DISPATCH_CONSOLE_JOURNAL or the platform data directory; "
                        "the embedded sandbox's runs go to NAME-sandbox beside it)")


# =============================================================================== output helpers


class Output:
    """stdout/stderr writers that survive a closed pipe (``| head``) or a vanished terminal."""

    def __init__(self, stdout: TextIO | None, stderr: TextIO | None) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    def out(self, line: str = "") -> None:
        self._write(self.stdout, line + "\n")

    def err(self, line: str = "") -> None:
        self._write(self.stderr, line + "\n")

    def err_raw(self, text: str) -> None:
        self._write(self.stderr, text)

    @staticmethod
    def _write(stream: TextIO, text: str) -> None:
        try:
            stream.write(text)
            stream.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the reader went away; the journal still has everything


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class ProgressPrinter:
    """Progress on stderr: one redrawn line on a terminal, a line per 10% otherwise."""

    def __init__(self, output: Output, *, tty: bool, label: str = "completing") -> None:
        self.output = output
        self.tty = tty
        self.label = label
        self._last_draw = 0.0
        self._last_decile = -1
        self._drawn = False

    def __call__(self, event: Any) -> None:
        kind = event.kind
        if kind == "settling":
            self._line(f"settling {event.count} order(s) earlier runs left unsettled (interrupted or in doubt)...")
        elif kind == "waiting":
            from console.api.sanitize import sanitize

            self._line(f"{sanitize(event.ref.order_handle)}: not completed yet, but its request may still be in "
                       f"flight: checking again in {_fmt_seconds(event.seconds)} (Ctrl-C leaves it in doubt)")
        elif kind == "paused":
            self._line(f"{event.message}")
        elif kind == "resumed":
            self._line("resumed")
        elif kind == "stopping":
            self._line(f"stopping: {event.message}")
        elif kind in ("result", "started"):
            self._progress(event.progress, force=kind == "started")
        elif kind == "finished":
            self._progress(event.progress, force=True)
            if self.tty and self._drawn:
                self.output.err_raw("\n")
                self._drawn = False

    def _line(self, text: str) -> None:
        if self.tty and self._drawn:
            self.output.err_raw("\n")
            self._drawn = False
        self.output.err(text)

    def _progress(self, p: Any, *, force: bool) -> None:
        text = (f"{self.label} {p.finished}/{p.total}: {p.succeeded} done, {p.failed} failed, "
                f"{p.in_doubt} in doubt"
                + (f", {p.rate:.1f}/s, ETA {_fmt_seconds(p.eta)}" if p.rate else ""))
        if self.tty:
            now = time.monotonic()
            if force or now - self._last_draw >= 0.1:
                self._last_draw = now
                width = 20
                filled = int(width * p.fraction)
                bar = "#" * filled + "-" * (width - filled)
                self.output.err_raw(f"\r[{bar}] {text}\x1b[K")
                self._drawn = True
            return
        decile = int(10 * p.fraction)
        if decile > self._last_decile or (force and decile < 10):
            self._last_decile = decile
            self.output.err(text)


def _label(status: Any, action: Any = None) -> str:
    """A result's label in the action's words: "completed" is the action's end state."""
    from console.bulk.actions import in_words

    return status.label if action is None else in_words(status.label, action)


def _result_rows(results: Sequence[Any], action: Any = None) -> list[tuple[str, ...]]:
    from console.api.sanitize import sanitize
    from console.api.timestamps import format_timestamp

    rows = []
    for r in results:
        leg = ""
        if r.ref.type is not None:
            leg = f"{r.ref.type}#{r.ref.type_index if r.ref.type_index is not None else 0}"
        if r.ref.fulfillment_attempt is not None:
            leg = f"{leg} a{r.ref.fulfillment_attempt}".strip()
        message = r.message
        if r.field_errors:
            message += " [" + "; ".join(f"{k}: {', '.join(v)}" for k, v in r.field_errors.items()) + "]"
        rows.append((
            r.display_handle, leg or "-", _label(r.status, action) + (" !" if r.flagged else ""), str(r.attempts),
            format_timestamp(r.completed_at) if r.completed_at else "-", sanitize(message),
        ))
    return rows


def _print_table(output: Output, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [min(max([len(h)] + [len(row[i]) for row in rows]), 48) for i, h in enumerate(header)]
    for row in [header, *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        output.out("  ".join(cells + [row[-1]]).rstrip())


def _print_results(output: Output, results: Sequence[Any], *, as_json: bool, source: str, action: Any = None,
                   action_of: Callable[[Any], Any] | None = None) -> None:
    """``action``: the action of every result; ``action_of(result)``: each one's (results of
    earlier runs, any action; None when unknown)."""
    if not results:
        return
    if action_of is None:
        def action_of(_result: Any) -> Any:
            return action
    if as_json:
        for r in results:
            act = action_of(r)
            extra = {"action": act.name, "params": act.params()} if act is not None else {}
            output.out(json.dumps({**r.to_json(), "source": source, **extra}, ensure_ascii=True))
        return
    rows = [_result_rows([r], action_of(r))[0] for r in results]
    _print_table(output, ("ORDER", "LEG", "RESULT", "SENT", "COMPLETED_AT", "MESSAGE"), rows)


# =============================================================================== complete


def run_complete(
    args: argparse.Namespace,
    *,
    client_factory: Callable[[], Any],
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    interactive: bool | None = None,
    engine_options: dict[str, Any] | None = None,
) -> int:
    """``dispatch-console complete``. Returns the exit code (see the module docstring)."""
    from console.bulk.actions import COMPLETE

    return _run_write(args, COMPLETE, client_factory=client_factory, stdin=stdin, stdout=stdout, stderr=stderr,
                      interactive=interactive, engine_options=engine_options)


def run_action(
    args: argparse.Namespace,
    *,
    client_factory: Callable[[], Any],
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    interactive: bool | None = None,
    engine_options: dict[str, Any] | None = None,
    now: datetime | None = None,
    tz: Any = None,
) -> int:
    """``dispatch-console cancel|disable|enable|reassign|reschedule`` (``args.command``): as
    ``complete``, with that action. ``now``/``tz``: the clock and zone ``--at`` is read in."""
    output = Output(stdout, stderr)
    name = getattr(args, "command", None) or "complete"
    try:
        action = action_from_args(args, now=now, tz=tz)
    except UsageError as exc:
        output.err(f"dispatch-console {name}: {exc}")
        return EXIT_USAGE
    return _run_write(args, action, client_factory=client_factory, stdin=stdin, stdout=stdout, stderr=stderr,
                      interactive=interactive, engine_options=engine_options)


def _run_write(
    args: argparse.Namespace,
    action: Any,
    *,
    client_factory: Callable[[], Any],
    stdin: TextIO | None,
    stdout: TextIO | None,
    stderr: TextIO | None,
    interactive: bool | None,
    engine_options: dict[str, Any] | None,
) -> int:
    output = Output(stdout, stderr)
    stdin = stdin if stdin is not None else sys.stdin
    name = action.name
    try:
        plan = _read_and_validate(args, stdin, output, name)
        concurrency = _concurrency(args, client_factory)
        window = _settle_window(args, client_factory)
        if window is not None and not 0 <= window <= 3600:
            raise UsageError("--settle-window must be from 0 to 3600 seconds")
        uses_stdin = "-" in (args.handles or [])
        if interactive is None:
            interactive = _isatty(stdin) and not uses_stdin
        if not args.yes and not interactive:
            raise UsageError("standard input is not a terminal to confirm on"
                             + (" (it carries the handles)" if uses_stdin else "")
                             + f": add --yes to {action.verb} without asking")
    except UsageError as exc:
        output.err(f"dispatch-console {name}: {exc}")
        return EXIT_USAGE

    from console.bulk.journal import Journal, JournalDamaged, JournalError, journal_path_for

    target = _target_of(client_factory)
    path = journal_path_for(sandbox=bool(target and target.sandbox), explicit=getattr(args, "journal", None))
    try:
        journal = Journal(path).open()
    except JournalDamaged as exc:
        output.err(f"dispatch-console {name}: nothing was sent: {exc}")
        return EXIT_CANNOT_RUN
    except JournalError as exc:
        output.err(f"dispatch-console {name}: {exc}")
        return EXIT_CANNOT_RUN
    try:
        command = _CompleteCommand(args, client_factory, journal, plan, concurrency, output,
                                   stdin, interactive, engine_options or {}, action)
        return command.run()
    finally:
        journal.close()


def _read_and_validate(args: argparse.Namespace, stdin: TextIO, output: Output, name: str = "complete") -> list[str]:
    from console.bulk.handle_input import SourcedHandle, describe_problems, read_lines, show, validate_all

    candidates: list[SourcedHandle] = []
    problems: list[str] = []
    positional = list(args.handles or [])
    if positional.count("-") > 1:
        raise UsageError("'-' (standard input) may be given only once")
    for index, handle in enumerate(positional, start=1):
        if handle != "-":
            candidates.append(SourcedHandle(handle, f"argument {index}"))
    if args.from_file:
        try:
            with open(args.from_file, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise UsageError(f"cannot read {show(args.from_file)}: {exc.strerror}") from None
        found, trouble = read_lines(data, args.from_file)
        candidates += found
        problems += trouble
    if "-" in positional:
        raw = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode("utf-8", "surrogateescape")
        found, trouble = read_lines(raw, "<stdin>")
        candidates += found
        problems += trouble
    checked = validate_all(candidates)
    problems += checked.problems
    if problems:
        for line in describe_problems(problems):
            output.err(f"dispatch-console {name}: {line}")
        raise UsageError(f"{len(problems)} problem(s) in the handles; nothing was sent")
    if not checked.handles:
        raise UsageError("no order handles given (HANDLE..., --from-file FILE, or - for standard input)")
    if checked.duplicates:
        repeat, first = checked.duplicates[0]
        output.err(f"warning: {len(checked.duplicates)} duplicate handle(s) removed "
                   f"(e.g. {show(repeat.handle)} at {repeat.source}, first at {first.source})")
    for item, other in checked.near_duplicates[:5]:
        output.err(f"warning: {show(item.handle)} ({item.source}) looks like {show(other.handle)} "
                   f"({other.source}); both are kept")
    return [item.handle for item in checked.handles]


def _concurrency(args: argparse.Namespace, client_factory: Any) -> int:
    from console.bulk.engine import DEFAULT_CONCURRENCY, MAX_CONCURRENCY, MIN_CONCURRENCY

    value = getattr(args, "concurrency", None)
    if value is None:
        profile = getattr(client_factory, "profile", None)
        value = getattr(profile, "bulk_concurrency", None) or DEFAULT_CONCURRENCY
    if not MIN_CONCURRENCY <= value <= MAX_CONCURRENCY:
        raise UsageError(f"--concurrency must be from {MIN_CONCURRENCY} to {MAX_CONCURRENCY}")
    return value


def _settle_window(args: argparse.Namespace, client_factory: Any) -> float | None:
    """``--settle-window``, else the profile's ``settle_window``, else None (the engine's default)."""
    value = getattr(args, "settle_window", None)
    if value is None:
        value = getattr(getattr(client_factory, "profile", None), "settle_window", None)
    return value


class _CompleteCommand:
    """One ``complete`` invocation: settle, look up, confirm, run, report."""

    def __init__(self, args: argparse.Namespace, client_factory: Callable[[], Any], journal: Any,
                 handles: list[str], concurrency: int, output: Output, stdin: TextIO, interactive: bool,
                 engine_options: dict[str, Any], action: Any) -> None:
        self.args = args
        self.action = action
        self.name = action.name
        self.client_factory = client_factory
        self.journal = journal
        self.handles = handles
        self.concurrency = concurrency
        self.output = output
        self.stdin = stdin
        self.interactive = interactive
        self.engine_options = engine_options
        self.engine: Any = None
        self.signal_received: int | None = None
        self.main_task: asyncio.Task[int] | None = None
        self.progress = ProgressPrinter(output, tty=_isatty(output.stderr), label=action.doing)

    def run(self) -> int:
        try:
            return asyncio.run(self._main())
        except KeyboardInterrupt:
            self.output.err(f"dispatch-console {self.name}: interrupted")
            return EXIT_SIGNAL[signal.SIGINT]

    # ------------------------------------------------------------------ signals

    def _on_signal(self, sig: int) -> None:
        first = self.signal_received is None
        self.signal_received = self.signal_received or sig
        if first and self.engine is not None and self.engine.running:
            self.engine.stop()  # graceful: in-flight requests finish and are recorded
            return
        if self.main_task is not None:
            self.main_task.cancel()

    # ------------------------------------------------------------------ the command

    async def _main(self) -> int:
        loop = asyncio.get_running_loop()
        self.main_task = asyncio.current_task()
        installed = install_exit_signals(loop, self._on_signal)
        client = _make_client(self.client_factory, self.output, self.name)
        if client is None:
            return EXIT_CANNOT_RUN
        from console.bulk.journal import JournalError

        try:
            return await self._complete(client)
        except JournalError as exc:
            # The journal failed under the command (damaged or unreadable when read, not only
            # when opened): what was sent before is recorded; nothing more is sent.
            self.output.err(f"dispatch-console {self.name}: {exc}")
            return EXIT_CANNOT_RUN
        except asyncio.CancelledError:
            self.output.err(f"dispatch-console {self.name}: interrupted; requests in flight were abandoned "
                            "(the next run settles them from the journal)")
            return EXIT_SIGNAL.get(self.signal_received or signal.SIGINT, 130)
        finally:
            await release(loop, installed, client)

    async def _complete(self, client: Any) -> int:
        from console.bulk.engine import BulkEngine
        from console.bulk.journal import JournalError, base_host
        from console.bulk.results import ResultStatus, StopReason

        as_json = bool(self.args.json)
        options = dict(self.engine_options)
        window = _settle_window(self.args, self.client_factory)
        if window is not None:
            options.setdefault("settle_window", window)
        self.engine = engine = BulkEngine(client, self.journal, concurrency=self.concurrency, action=self.action,
                                          **options)
        where = f"{base_host(client.base_url)}" + (f" (account {client.account_id})" if client.account_id else "")

        # 1. What an interrupted earlier run left in doubt is settled and shown before anything else.
        settled = await engine.settle_pending(on_event=self.progress)
        if settled:
            self.output.err(f"{len(settled)} order(s) that earlier runs left unsettled (an interrupted run, "
                            "or one that ended in doubt), settled first:")
            _print_results(self.output, settled, as_json=as_json, source="earlier_run",
                           action_of=self._recorded_action)
        if engine.stop_reason is StopReason.AUTH:
            self.output.err(f"dispatch-console {self.name}: authentication failed at {where}; nothing was sent")
            return EXIT_AUTH

        # 2. Look every handle up: its identity (leg, attempt), and whether it is still open.
        lookups = await self._look_up(client)
        if isinstance(lookups, int):
            return lookups
        to_send = [ref for ref, pre in lookups if pre is None]
        skipped = [pre for _, pre in lookups if pre is not None]

        # 3. Confirm.
        if to_send and not self.args.yes:
            if not await self._confirm(to_send, skipped, where):
                self.output.err("nothing was sent")
                _print_results(self.output, skipped, as_json=as_json, source="lookup", action=self.action)
                return EXIT_FAILED

        # 4. Run. The orders the look-up settled go into the run too, so that the journal holds
        # every order of the run with its reason (already completed, not found, cancelled, ...).
        report = None
        if to_send or skipped:
            try:
                report = await engine.run(to_send, on_event=self.progress, settle_first=False, decided=skipped)
            except JournalError as exc:
                self.output.err(f"dispatch-console {self.name}: {exc}; nothing was sent")
                return EXIT_CANNOT_RUN
        by_handle = {r.ref.order_handle: r for r in (report.results if report else [])}
        results = []
        for ref, pre in lookups:
            results.append(by_handle.get(ref.order_handle, pre))
        _print_results(self.output, results, as_json=as_json, source="run", action=self.action)

        # 5. Summarise and choose the exit code.
        counts: dict[str, int] = {}
        for r in results:
            label = _label(r.status, self.action)
            counts[label] = counts.get(label, 0) + 1
        self.output.err("summary: " + ", ".join(f"{n} {label}" for label, n in counts.items()))
        stop_reason = report.stop_reason if report else None
        if report and report.stop_message and stop_reason is not StopReason.OPERATOR:
            self.output.err(f"the run stopped: {report.stop_message}")
        statuses = {r.status for r in results}
        in_doubt = [r for r in [*settled, *results] if r.status is ResultStatus.IN_DOUBT]
        if in_doubt:
            self.output.err(f"{len(in_doubt)} order(s) are IN DOUBT: they may or may not be {self.action.done}. "
                            "Check them (dispatch-console journal) before sending them again.")
        if ResultStatus.AUTH_FAILED in statuses or stop_reason is StopReason.AUTH:
            return EXIT_AUTH
        if in_doubt or stop_reason is StopReason.RATE_LIMITED:
            return EXIT_IN_DOUBT
        if stop_reason in (StopReason.JOURNAL, StopReason.CERTIFICATE):
            return EXIT_CANNOT_RUN
        if self.signal_received is not None:
            return EXIT_SIGNAL[self.signal_received]
        if all(s.is_success for s in statuses):
            return EXIT_OK
        return EXIT_FAILED

    def _recorded_action(self, result: Any) -> Any:
        """The action an earlier run recorded for ``result``'s op (None: unknown)."""
        from console.bulk.actions import from_journal

        op = self.journal.op(result.op_id) if result.op_id else None
        if op is None:
            return None
        try:
            return from_journal(op.action, op.params)
        except ValueError:
            return None

    async def _look_up(self, client: Any) -> list[tuple[Any, Any]] | int:
        """(ref, None) for an order to send, or (ref, result) for one settled by its lookup."""
        from console.api import errors
        from console.api.models import OrderRef
        from console.bulk.actions import Verdict
        from console.bulk.results import OrderResult, ResultStatus

        sem = asyncio.Semaphore(self.concurrency)
        done = 0
        total = len(self.handles)
        auth_error: list[errors.AuthenticationError] = []
        tty = _isatty(self.output.stderr)

        async def one(handle: str) -> tuple[Any, Any]:
            nonlocal done
            async with sem:
                if auth_error:
                    return OrderRef(handle), OrderResult(OrderRef(handle), ResultStatus.NOT_SENT,
                                                         message="not looked up: authentication failed")
                try:
                    order = await client.get_order(handle)
                except errors.AuthenticationError as exc:
                    auth_error.append(exc)
                    return OrderRef(handle), OrderResult(OrderRef(handle), ResultStatus.AUTH_FAILED,
                                                         message=exc.message, http_status=exc.status_code)
                except errors.NotFoundError as exc:
                    result = OrderResult(OrderRef(handle), ResultStatus.NOT_FOUND, message=exc.message,
                                         http_status=exc.status_code)
                    return OrderRef(handle), result
                except errors.HyperTrackError as exc:
                    result = OrderResult(OrderRef(handle), ResultStatus.FAILED_NOT_SENT,
                                         message=f"not sent: could not look the order up ({exc.message})",
                                         http_status=getattr(exc, "status_code", None))
                    return OrderRef(handle), result
                finally:
                    done += 1
                    if tty and (done == total or done % 10 == 0):
                        self.output.err_raw(f"\rlooking up {done}/{total}\x1b[K" + ("\n" if done == total else ""))
                ref = order.ref
                if self.action.judge(order) is Verdict.APPLIED:
                    return ref, OrderResult(ref, ResultStatus.ALREADY_COMPLETED, message=f"already {self.action.done}",
                                            completed_at=order.completed_at, order_status=order.status)
                if order.is_terminal:
                    return ref, OrderResult(ref, ResultStatus.CONFLICT, order_status=order.status,
                                            message=f"not sent: the order is {order.status}")
                refusal = self.action.refusal(order)
                if refusal is not None:
                    # Skipped with the reason, as the UI's bulk review lists it.
                    return ref, OrderResult(ref, ResultStatus.CONFLICT, order_status=order.status,
                                            message=f"not sent: {refusal}")
                return ref, None

        looked = list(await asyncio.gather(*(one(h) for h in self.handles)))
        if auth_error:
            self.output.err(f"dispatch-console {self.name}: authentication failed ({auth_error[0].message}); "
                            "nothing was sent")
            return EXIT_AUTH
        return looked

    async def _confirm(self, to_send: list[Any], skipped: list[Any], where: str) -> bool:
        from console.bulk.handle_input import show

        n = len(to_send)
        verb = self.action.verb
        what = f" ({self.action.describe()})" if self.action.params() else ""
        self.output.err(f"About to {verb} {n} order(s) on {where}{what}:")
        for ref in to_send[:10]:
            self.output.err(f"  {show(ref.order_handle)}")
        if n > 10:
            self.output.err(f"  ... and {n - 10} more")
        if skipped:
            reasons = "already completed, not found, cancelled or not looked up" if verb == "complete" else (
                f"already {self.action.done}, not found, finished, not applicable or not looked up")
            self.output.err(f"({len(skipped)} other order(s) will not be sent: {reasons})")
        if self.action.name == "cancel":
            self.output.err("Cancelling cannot be undone.")
        if n > TYPED_CONFIRMATION_ABOVE:
            prompt = f"Type {n} to {verb} them: "
        else:
            prompt = f"{verb.capitalize()} them? [y/N] "
        self.output.err_raw(prompt)
        answer = await _read_line_in_thread(self.stdin)
        answer = (answer or "").strip()
        if n > TYPED_CONFIRMATION_ABOVE:
            return answer == str(n)
        return answer.lower() in ("y", "yes")


def install_exit_signals(loop: asyncio.AbstractEventLoop, on_signal: Callable[[int], None]) -> list[int]:
    """Route each signal of EXIT_SIGNAL to ``on_signal(sig)`` on ``loop``. Returns the ones
    installed: none off the main thread, and none the loop cannot take (e.g. on Windows)."""
    installed: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        return installed
    for sig in EXIT_SIGNAL:
        try:
            loop.add_signal_handler(sig, on_signal, sig)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    return installed


async def release(loop: asyncio.AbstractEventLoop, installed: list[int], client: Any) -> None:
    """Undo :func:`install_exit_signals` and close ``client``: a close that fails changes no
    command's outcome (everything it sent is already recorded)."""
    for sig in installed:
        loop.remove_signal_handler(sig)
    try:
        await client.aclose()
    except Exception:
        pass


def _make_client(client_factory: Callable[[], Any], output: Output, command: str) -> Any:
    """The client, or None after one clear line on stderr (bad base URL, sandbox unavailable)."""
    from console.api.errors import HyperTrackError
    from console.api.sanitize import sanitize

    try:
        return client_factory()
    except HyperTrackError as exc:
        output.err(f"dispatch-console {command}: {exc.message}")
    except (OSError, ValueError, ImportError) as exc:
        output.err(f"dispatch-console {command}: cannot set up the connection: {sanitize(str(exc))[:300]}")
    return None


async def _read_line_in_thread(stream: TextIO) -> str | None:
    """Read a line without blocking the loop (so Ctrl-C still works) and without a thread that
    would keep the process alive after an interrupt (daemon)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str | None] = loop.create_future()

    def read() -> None:
        try:
            line: str | None = stream.readline()
        except (OSError, ValueError):
            line = None
        loop.call_soon_threadsafe(lambda: future.done() or future.set_result(line))

    threading.Thread(target=read, daemon=True, name="confirm").start()
    return await future


# =============================================================================== journal


_SINCE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """``30m``, ``2h``, ``1d``, ``1w``, or an ISO-8601 date/time (local time if it has no zone)."""
    now = now or datetime.now(timezone.utc)
    m = _SINCE_RE.match(text)
    if m:
        return now - timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since: {text!r} is not a duration (30m, 2h, 1d) or an ISO-8601 time") from None
    if when.tzinfo is None:
        when = when.astimezone()  # the operator's local time
    return when.astimezone(timezone.utc)


def run_journal(
    args: argparse.Namespace,
    *,
    target: JournalTarget | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    now: datetime | None = None,
) -> int:
    """``dispatch-console journal``: read-only, works while a run is going on.

    ``target`` (else ``args.journal_target``, set by the command line): the current target
    (from the connection options): its journal file, and only its runs unless ``--all``.
    None: the journal of real accounts (or ``--journal``), every run.
    """
    if target is None:
        target = getattr(args, "journal_target", None)
    from console.api.sanitize import sanitize
    from console.bulk.journal import JournalError, JournalReader, journal_path_for, sandbox_journal_path

    output = Output(stdout, stderr)
    explicit = getattr(args, "journal", None)
    path = journal_path_for(sandbox=bool(target and target.sandbox), explicit=explicit)
    if getattr(args, "move_aside", False):
        return _move_aside(path, output)
    try:
        since = parse_since(args.since, now=now) if args.since else None
    except UsageError as exc:
        output.err(f"dispatch-console journal: {exc}")
        return EXIT_USAGE
    show_all = bool(getattr(args, "all_targets", False)) or target is None
    paths = [path]
    if show_all and not explicit:
        real = journal_path_for(sandbox=False)
        paths = [real, sandbox_journal_path(real)]
    where: dict[str, Any] = {}
    if not show_all and target is not None:
        where = {"account_id": target.account_id, "base_url": target.base_url}
    ops: list[Any] = []
    runs: list[Any] = []
    try:
        for one in paths:
            with JournalReader(one) as reader:
                ops += reader.list_ops(since=since, **where)
                runs += reader.list_runs(since=since, **where)
    except JournalError as exc:
        output.err(f"dispatch-console journal: {exc}")
        return EXIT_CANNOT_RUN
    ops.sort(key=lambda op: op.updated_at)
    runs.sort(key=lambda run: run.started_at)
    if args.json:
        for op in ops:
            output.out(json.dumps(op.to_json(), ensure_ascii=True))
        return EXIT_OK
    if ops:
        header = ("UPDATED", "STATE", "ORDER", "LEG", "ACTION", "PARAMS", "SENT", "HTTP", "ACCOUNT", "SERVER",
                  "MESSAGE")
        rows = []
        for op in ops:
            leg = ""
            if op.type is not None:
                leg = f"{op.type}#{op.type_index if op.type_index is not None else 0}"
            if op.fulfillment_attempt is not None:
                leg = f"{leg} a{op.fulfillment_attempt}".strip()
            rows.append((op.updated_at[:19].replace("T", " "), op.state_text, sanitize(op.order_handle), leg or "-",
                         sanitize(op.action), _params_text(op.params_dict), str(op.attempts), str(op.http_status or "-"), sanitize(op.account_id or "-"),
                         sanitize(op.base_host), sanitize(op.message or "")))
        _print_table(output, header, rows)
    for run in runs:
        output.err(f"run {run.run_id[:12]} started {run.started_at[:19].replace('T', ' ')}Z: "
                   f"{run.order_count} order(s), account {sanitize(run.account_id or '-')} "
                   f"at {sanitize(run.base_host)}"
                   + (f", {sanitize(run.stop_reason)}" if run.stop_reason else ""))
    unsettled = [op for op in ops if op.state in ("sending", "in_doubt")]
    scope = "every target" if show_all else target.describe() if target else "every target"
    files = " and ".join(sanitize(str(p)) for p in paths)
    output.err(f"{len(ops)} op(s) in {len(runs)} run(s) against {scope}, in {files}"
               + (f"; {len(unsettled)} in doubt (settled by the next run, with the action each was sent with)"
                  if unsettled else "")
               + ("" if show_all else " (--all: every target)"))
    return EXIT_OK


def _params_text(params: dict[str, Any]) -> str:
    """An op's action parameters for the journal table: ``worker=w-2 ops_group=g``, or ``-``."""
    from console.api.sanitize import sanitize

    if not params:
        return "-"
    return sanitize(" ".join(f"{key}={value}" for key, value in sorted(params.items())))


def _move_aside(path: Any, output: Output) -> int:
    from console.api.sanitize import sanitize
    from console.bulk.journal import JournalError, move_aside

    try:
        moved = move_aside(path, require_damaged=True)
    except JournalError as exc:
        output.err(f"dispatch-console journal: {exc}")
        return EXIT_CANNOT_RUN
    output.err(f"moved the journal aside, kept as: {', '.join(sanitize(str(p)) for p in moved)}")
    output.err("the next run starts a new journal. Orders the old one had in doubt are not known to the "
               "new one: check recent completions on the server before sending them again.")
    return EXIT_OK


def __getattr__(name: str) -> Any:
    # The orders command has a module of its own; its two entry points are still reachable
    # here, imported on first use (that module imports this one's output helpers).
    if name in ("add_orders_arguments", "run_orders"):
        from console import orders_command

        return getattr(orders_command, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
