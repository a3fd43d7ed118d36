"""``dispatch-console watch``: the open set's changes as they happen, without the UI.

Every ``--interval`` seconds it reads the whole open set (as the console does) and prints what
changed since the previous complete read (:mod:`console.session.changes`):

- **Text** (default): one line per change, ``HH:MM:SSZ  <the change in words>``. Every piece of
  data in it is sanitized: control characters never reach the terminal.
- **JSON lines** (``--json``): one object per change (:meth:`ChangeEvent.as_json`): ``time``,
  ``order_handle``, ``type``, ``type_index``, ``fulfillment_attempt``, ``worker``, ``kind``,
  ``from``, ``to``, ``worst`` (plus ``risk`` for a risk key, ``by_this_console`` for ``left``).
  Data is exact; JSON escapes control characters itself (``ensure_ascii``).
- The first read prints nothing on stdout (a note on stderr says how many orders are watched).
- ``--only red``: only changes to red (a risk or the worst level turned red, an order arrived red).
- ``--ops-group``: only that ops group's orders.
- **API failures**: a note on stderr, then retries with a growing delay (``--interval`` doubled
  each time, at most 5 minutes) and a note when it reads again. A failed read is never compared,
  so it invents no events: the orders it did not reach are not reported as gone.
- ``--notify``: a terminal notification per refresh with new matching changes (console/notify.py:
  bell, OSC 9, OSC 777; wrapped for tmux), written to the terminal (stderr when it is one, else
  ``/dev/tty``), never into the stdout stream a script reads.

Exit codes: 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (stopping is the normal end: what was read is
printed), 2 usage, 3 could not connect, 4 authentication failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from collections.abc import Callable
from datetime import datetime, timezone
from typing import IO, Any, TextIO

from console.bulk.headless import (
    EXIT_AUTH, EXIT_CANNOT_RUN, EXIT_SIGNAL, EXIT_USAGE, Output, _make_client, install_exit_signals,
    release,
)

MIN_INTERVAL = 1.0
MAX_INTERVAL = 3600.0
MAX_BACKOFF = 300.0

EXIT_CODES_HELP = """\
exit codes:
  130  stopped by Ctrl-C (143 SIGTERM, 129 SIGHUP): the normal end of a watch
  2    usage (a bad option value)
  3    could not connect (bad base URL, sandbox unavailable)
  4    authentication failed"""


def add_watch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print the open set's changes as they happen (risks, LATE, ETA slips, status, reassignments, "
        "new and departed orders), as text lines or JSON lines. Runs until Ctrl-C or SIGTERM."
    )
    parser.epilog = EXIT_CODES_HELP
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--interval", type=float, metavar="SECONDS",
                        help="seconds between reads of the open set (1-3600; default: the profile's refresh, else 10)")
    parser.add_argument("--json", action="store_true", help="one JSON object per change, data exact")
    parser.add_argument("--only", choices=("red",), help="red: only changes to red")
    parser.add_argument("--ops-group", metavar="HANDLE", help="only this ops group's orders")
    parser.add_argument("--eta-slip", type=float, metavar="MINUTES",
                        help="report an ETA moving later by at least this much (default: the profile's, else 15)")
    parser.add_argument("--notify", action=argparse.BooleanOptionalAction, default=None,
                        help="terminal notifications (bell, OSC 9/777) once per refresh (default: the profile's, else off)")
    parser.add_argument("--notify-kinds", metavar="KINDS",
                        help="what notifies, comma-separated: new-red (default), late, eta, worker, status, new, left, risk, worst")
    parser.add_argument("--notify-via", metavar="METHODS",
                        help="how, comma-separated: bell, osc9, osc777 (default: chosen from the terminal's "
                        "environment, else all three)")


def run_watch(
    args: argparse.Namespace,
    *,
    client_factory: Callable[[], Any],
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    notify_stream: IO[bytes] | None = None,
    profile: Any = None,
) -> int:
    from console.notify import DEFAULT_KINDS, Notifier, in_tmux, methods_for, parse_kinds, parse_methods
    from console.session.changes import DEFAULT_ETA_SLIP_MINUTES, MAX_ETA_SLIP_MINUTES, ChangeDetector

    output = Output(stdout, stderr)
    profile = profile if profile is not None else getattr(client_factory, "profile", None)

    def setting(arg: Any, key: str, default: Any) -> Any:
        if arg is not None:
            return arg
        value = getattr(profile, key, None) if profile is not None else None
        return value if value is not None else default

    interval = setting(args.interval, "refresh", 10.0)
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        output.err("dispatch-console watch: --interval must be between 1 and 3600 seconds")
        return EXIT_USAGE
    slip = setting(args.eta_slip, "eta_slip_minutes", DEFAULT_ETA_SLIP_MINUTES)
    if not 0 < slip <= MAX_ETA_SLIP_MINUTES:
        output.err(f"dispatch-console watch: --eta-slip must be more than 0 and at most {MAX_ETA_SLIP_MINUTES} minutes")
        return EXIT_USAGE
    notify = setting(args.notify, "notify", False)
    notifier = None
    if notify:
        try:
            kinds = parse_kinds(args.notify_kinds) if args.notify_kinds else tuple(
                setting(None, "notify_kinds", DEFAULT_KINDS))
        except ValueError as exc:
            output.err(f"dispatch-console watch: --notify-kinds: {exc}")
            return EXIT_USAGE
        try:
            methods = parse_methods(args.notify_via) if args.notify_via else methods_for()
        except ValueError as exc:
            output.err(f"dispatch-console watch: --notify-via: {exc}")
            return EXIT_USAGE
        stream = notify_stream if notify_stream is not None else _terminal(output)
        if stream is None:
            output.err("dispatch-console watch: --notify: no terminal to notify on; notifications are off")
        else:
            notifier = Notifier(stream, kinds=kinds, methods=methods, tmux=in_tmux())
    red_only = args.only == "red"
    filters: dict[str, Any] = {}
    ops_group = args.ops_group or (getattr(profile, "ops_group", None) if profile is not None else None)
    if ops_group:
        filters["ops_group_handle"] = ops_group

    async def main() -> int:
        from console.api import errors
        from console.api.sanitize import sanitize
        from console.api.vocab import OPEN_STATUSES

        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        received: list[int] = []

        def on_signal(sig: int) -> None:
            received.append(sig)
            stop.set()

        installed = install_exit_signals(loop, on_signal)
        client = _make_client(client_factory, output, "watch")
        if client is None:
            return EXIT_CANNOT_RUN
        detector = ChangeDetector(eta_slip_minutes=slip)
        # The orders' clock: a fast sandbox's (--sandbox-speed), else the wall clock.
        now = getattr(client_factory, "now", None) or (lambda: datetime.now(timezone.utc))
        failures = 0
        try:
            while not stop.is_set():
                builder = detector.begin(now())
                try:
                    async for page in client.iter_summary_pages(status=OPEN_STATUSES, **filters):
                        builder.add(page.orders)
                        if stop.is_set():
                            break
                except errors.AuthenticationError as exc:
                    output.err(f"dispatch-console watch: authentication failed: {exc.message}")
                    return EXIT_AUTH
                except errors.InvalidRequest as exc:
                    output.err(f"dispatch-console watch: {exc.message}")
                    return EXIT_USAGE
                except errors.HyperTrackError as exc:
                    failures += 1
                    delay = min(MAX_BACKOFF, interval * 2 ** min(failures, 10))
                    output.err(f"dispatch-console watch: reading the open set failed ({exc.message}); "
                               f"retrying in {delay:g} s")
                    builder.abandon()
                    await _wait(stop, delay)
                    continue
                if stop.is_set():
                    break  # interrupted part-way: an incomplete read is never compared
                first = not detector.has_baseline
                snap = builder.finish()
                events = detector.compare(snap)
                if failures:
                    output.err(f"dispatch-console watch: reading again ({len(snap)} open orders)")
                    failures = 0
                elif first:
                    output.err(f"dispatch-console watch: watching {len(snap)} open order(s)"
                               f"{' in ops group ' + sanitize(ops_group) if ops_group else ''}; "
                               f"every {interval:g} s; changes appear below")
                if red_only:
                    events = [e for e in events if e.is_red]
                for event in events:
                    if args.json:
                        output.out(json.dumps(event.as_json(), ensure_ascii=True, allow_nan=False))
                    else:
                        output.out(text_line(event))
                if notifier is not None:
                    notifier.refresh(events)
                await _wait(stop, interval)
        finally:
            await release(loop, installed, client)
        return EXIT_SIGNAL.get(received[0] if received else signal.SIGINT, 130)

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return EXIT_SIGNAL[signal.SIGINT]


def text_line(event: Any) -> str:
    """``12:00:40Z  Order h1, worker w7: worst risk rose from yellow to red.`` (sanitized)."""
    from console.notify import clean_text

    when = event.time.astimezone(timezone.utc).strftime("%H:%M:%SZ")
    return f"{when}  {clean_text(event.sentence(), 1000)}"


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass


def _terminal(output: Output) -> IO[bytes] | None:
    """Where notifications go: the terminal, never the stdout a script may be reading."""
    stderr = output.stderr
    try:
        if stderr.isatty():
            return stderr.buffer  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        pass
    try:
        return open("/dev/tty", "wb", buffering=0)  # noqa: SIM115 (lives as long as the watch)
    except OSError:
        return None


__all__ = ["add_watch_arguments", "run_watch", "text_line"]
