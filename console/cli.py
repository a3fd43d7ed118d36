"""``dispatch-console``: the console (default), the sandbox server, and the headless commands.

Secrets are never read from the command line: there is no option for one, and an argument that
looks like one is refused before anything runs (it would show up in ``ps`` and shell history).
Heavy imports (Textual, the sandbox server, SQLite) happen inside the command that needs them.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from console import __version__
from console.gc_policy import StartUpPause

EXIT_OK = 0
EXIT_USAGE = 2

_SECRET_FLAGS = ("--secret", "--secret-key", "--secret_key", "--password", "--token", "--api-key")
# Any option spelled like a credential is refused too, not only the listed ones: argparse
# answers an unknown "--hypertrack-secret-key VALUE" with "unrecognized arguments: ... VALUE",
# which prints the secret to the terminal (and CI logs).
_SECRET_WORDS = ("secret", "password", "passwd", "token", "apikey", "credential", "auth")
_SECRET_NAMES = ("key", "pass", "pw")


def _is_secret_flag(name: str) -> bool:
    if name in _SECRET_FLAGS:
        return True
    if not name.startswith("-"):
        return False
    squashed = name.lstrip("-").lower().replace("-", "").replace("_", "")
    return squashed in _SECRET_NAMES or any(word in squashed for word in _SECRET_WORDS)


def _common_connection_options(parser: argparse.ArgumentParser, *, subcommand: bool = False) -> None:
    """The connection options, accepted before or after the subcommand.

    A subcommand's copy must not overwrite what was given before it (argparse writes a
    subparser's defaults over the namespace), so there the defaults are suppressed.
    """
    group = parser.add_argument_group("connection")
    if subcommand:
        _add_connection_arguments(group, default=argparse.SUPPRESS)
        return
    _add_connection_arguments(group, default=None)


def _add_connection_arguments(group: argparse._ArgumentGroup, *, default: object) -> None:
    keep = {} if default is None else {"default": default}
    group.add_argument("--base-url", help="HyperTrack API base URL (default: $HYPERTRACK_BASE_URL, "
                       "the profile's, or https://v3.api.hypertrack.com)", **keep)
    group.add_argument("--sandbox", action="store_true",
                       help="use the embedded sandbox even when credentials are set", **keep)
    group.add_argument("--profile", help="a profile from the config file ($DISPATCH_CONSOLE_CONFIG)", **keep)
    group.add_argument("--sandbox-orders", type=int, metavar="N",
                       help="orders in the embedded sandbox fleet (default 500)",
                       **(keep or {"default": 500}))
    group.add_argument("--sandbox-seed", type=int, metavar="SEED",
                       help="seed of the embedded sandbox fleet (default 7)",
                       **(keep or {"default": 7}))
    group.add_argument("--sandbox-speed", type=float, metavar="X",
                       help="the embedded sandbox's clock speed: 60 = a simulated hour per minute (default 1)",
                       **(keep or {"default": 1.0}))


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser. Given ``argv``, the subcommands it does not name get only
    their name and help (all that ``--help`` lists): their arguments come from the sandbox
    server and the headless commands' modules, ~8 ms of imports and parser building that the
    console (no subcommand) would pay before its first rows. Without ``argv``,
    every subcommand is complete."""
    named = None if argv is None else set(argv)

    def wanted(command: str) -> bool:
        # A token equal to the command's name: the command itself, or an option's value that
        # happens to be spelt the same (then its arguments are built for nothing, harmlessly).
        return named is None or command in named

    parser = argparse.ArgumentParser(
        prog="dispatch-console",
        description="Watch and complete HyperTrack orders from the terminal. Credentials come from "
        "HYPERTRACK_ACCOUNT_ID and HYPERTRACK_SECRET_KEY; without them the embedded sandbox is used.",
    )
    parser.add_argument("--version", action="version", version=f"dispatch-console {__version__}")
    _common_connection_options(parser)
    ui = parser.add_argument_group("console")
    ui.add_argument("--ops-group", help="show only this ops group")
    ui.add_argument("--refresh", type=float, metavar="SECONDS", help="refresh interval (default 10)")
    ui.add_argument("--read-only", action="store_true", help="disable every write action")
    ui.add_argument("--ascii", action="store_true", help="ASCII-only drawing, for terminals without Unicode")
    ui.add_argument("--palette", choices=("default", "colorblind"),
                    help="badge colours: colorblind uses blue/orange/yellow (default: the profile's, else default)")
    ui.add_argument("--concurrency", type=int, metavar="N", help="bulk completion concurrency (1-16, default 4)")
    ui.add_argument("--eta-slip", type=float, metavar="MINUTES",
                    help="an ETA moving later by this much is a change (default: the profile's, else 15)")
    ui.add_argument("--notify", action=argparse.BooleanOptionalAction, default=None,
                    help="bell and desktop notifications through the terminal (default: the profile's, else off)")
    ui.add_argument("--notify-kinds", metavar="KINDS",
                    help="what notifies, comma-separated: new-red (default), late, eta, worker, status, new, left, "
                    "risk, worst")
    ui.add_argument("--notify-via", metavar="METHODS",
                    help="how, comma-separated: bell, osc9, osc777 (default: chosen from the terminal's "
                    "environment, else all three)")
    ui.add_argument("--settle-window", type=float, metavar="SECONDS",
                    help="how long a sent request may still be in flight before a read-back can say it did not "
                    "take effect (0-3600, default 60)")

    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sandbox = sub.add_parser("sandbox", help="serve the simulated HyperTrack Orders API over HTTP")
    if wanted("sandbox"):
        from console.sandbox.server import add_sandbox_arguments

        add_sandbox_arguments(sandbox)

    complete = sub.add_parser("complete", help="complete orders without the UI")
    orders = sub.add_parser("orders", help="list orders without the UI")
    journal = sub.add_parser("journal", help="show the bulk-completion journal")
    if wanted("complete") or wanted("orders") or wanted("journal"):
        from console.bulk import headless

        if wanted("complete"):
            _common_connection_options(complete, subcommand=True)
            headless.add_complete_arguments(complete)
        if wanted("orders"):
            _common_connection_options(orders, subcommand=True)
            headless.add_orders_arguments(orders)
        if wanted("journal"):
            _common_connection_options(journal, subcommand=True)  # which target's runs
            headless.add_journal_arguments(journal)
    _add_action_commands(sub, wanted)

    watch = sub.add_parser("watch", help="print the open set's changes as they happen, without the UI")
    if wanted("watch"):
        from console.watch_command import add_watch_arguments

        _common_connection_options(watch, subcommand=True)
        add_watch_arguments(watch)

    secret = sub.add_parser(
        "secret", help="store a profile's secret key (read from the terminal, never from arguments)",
        description="Reads the secret key from the terminal (or one line of standard input) and stores "
        "it in the system keyring; with --to-file, in the config file at mode 0600 instead.",
    )
    secret.add_argument("--profile", required=True, help="the profile whose account id the secret belongs to")
    secret.add_argument("--to-file", action="store_true",
                        help="store it in the config file (mode 0600) instead of the keyring")
    return parser


#: The write commands besides complete (console.bulk.headless.ACTION_COMMANDS), with their help.
ACTION_COMMAND_HELP = {
    "cancel": "cancel orders without the UI (cannot be undone)",
    "disable": "disable orders without the UI",
    "enable": "enable disabled orders without the UI",
    "reassign": "reassign orders to a worker without the UI (--worker W)",
    "reschedule": "reschedule orders without the UI (--at TIME)",
}


def _add_action_commands(sub: Any, wanted: Callable[[str], bool]) -> None:
    for name, help_text in ACTION_COMMAND_HELP.items():
        command = sub.add_parser(name, help=help_text)
        if wanted(name):
            from console.bulk import headless

            _common_connection_options(command, subcommand=True)
            headless.add_action_arguments(command, name)


def _refuse_secret_arguments(argv: Sequence[str]) -> str | None:
    secret = os.environ.get("HYPERTRACK_SECRET_KEY")
    options_ended = False
    for arg in argv:
        name = arg.split("=", 1)[0]
        if arg == "--":
            options_ended = True  # what follows are handles, however they are spelled
        elif not options_ended and _is_secret_flag(name):
            return (f"{name}: secrets are not accepted on the command line (they show in ps and shell "
                    "history); set HYPERTRACK_SECRET_KEY in the environment instead")
        if secret and len(secret) >= 8 and secret in arg:
            return ("an argument contains the secret key; secrets are not accepted on the command "
                    "line. Remove it and rely on HYPERTRACK_SECRET_KEY.")
    return None


class _SafeLogFormatter(logging.Formatter):
    """Log lines may carry server text (an exception's message): escape control characters, so
    a log line can neither drive the terminal nor forge another log line.

    A logged exception adds ``(KeyError at console/bulk/engine.py:123)`` to its line: never a
    traceback (it reaches the supervisor's terminal and logs) and never the exception's message
    or locals (they may hold anything, a secret included)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        from console.api.sanitize import sanitize

        return sanitize(super().formatMessage(record))  # one line, whatever the message holds

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            text = super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved
        exc = saved[0][1] if saved[0] else None
        if exc is not None:
            text += f" ({exception_summary(exc)})"
        return text


def exception_summary(exc: BaseException) -> str:
    """``KeyError at console/bulk/engine.py:123``: the exception's type and the deepest line of
    this package it came through; not its message, not a traceback."""
    import traceback

    where = ""
    package = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(package)
    for frame in traceback.extract_tb(exc.__traceback__):
        filename = os.path.abspath(frame.filename)
        if filename.startswith(package + os.sep):
            where = f" at {os.path.relpath(filename, root)}:{frame.lineno}"
    return f"{type(exc).__name__}{where}"


def _configure_logging() -> None:
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(_SafeLogFormatter("dispatch-console: %(levelname)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def _import_httpx_without_its_cli() -> None:
    """Import httpx without its command-line client (``httpx._main``).

    httpx 0.28's ``__init__`` runs ``try: from ._main import main except ImportError: <stub>``,
    and ``_main`` imports click, pygments and rich's progress/syntax modules. That import only
    fails when click is missing, and uvicorn (the sandbox server) installs click, so every start
    paid ~45 ms of CPU for a CLI this process never runs (upstream: encode/httpx discussion
    #3523, PR #3547 moves the import to ``httpx/__main__.py``).

    A ``None`` entry in ``sys.modules`` makes an import of that name raise ModuleNotFoundError
    (documented: the import system reference, "The module cache"), so httpx takes its own
    fallback branch and defines ``httpx.main`` as a stub that explains the CLI is not
    available. The entry is removed right after, so a later ``import httpx._main`` works as
    usual; only ``httpx.main`` in this process stays the stub (the ``httpx`` console script is
    a process of its own and is not affected).
    """
    if "httpx" in sys.modules:
        return  # already imported (a test, an embedding program): nothing to save
    blocked = "httpx._main" not in sys.modules
    if blocked:
        sys.modules["httpx._main"] = None  # type: ignore[assignment]
    try:
        import httpx  # noqa: F401
    finally:
        if blocked and sys.modules.get("httpx._main", False) is None:
            del sys.modules["httpx._main"]


def main(argv: Sequence[str] | None = None) -> int:
    start_up = StartUpPause(enabled=argv is None)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(argv, start_up)
    finally:
        start_up.done()


def _main(argv: list[str], start_up: StartUpPause) -> int:
    _import_httpx_without_its_cli()
    _configure_logging()
    problem = _refuse_secret_arguments(argv)
    if problem:
        print(f"dispatch-console: {problem}", file=sys.stderr)
        return EXIT_USAGE
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.command is not None:
        start_up.done()  # a subcommand runs with the collector on; the console, see _run_console
    try:
        return _dispatch(args, start_up)
    except KeyboardInterrupt:
        # Ctrl-C outside a run's own handling (reading handles, opening the journal, starting
        # up): nothing was sent by this process that the journal does not know of.
        print(f"dispatch-console {args.command or 'console'}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        # A bug. The supervisor gets one line (the exception's type and where it was raised,
        # never its message, which may hold anything, a secret included) and "could not run".
        note = _UNEXPECTED_NOTE.get(args.command or "", "")
        print(f"dispatch-console {args.command or 'console'}: {unexpected_error_message(exc, note)}",
              file=sys.stderr)
        return EXIT_CANNOT_RUN


#: Could not run (documented in the README's exit-code table).
EXIT_CANNOT_RUN = 3
EXIT_INTERRUPTED = 130

_UNEXPECTED_NOTE = {
    "complete": "; every request already sent is in the journal, and the next run settles it first",
    **{name: "; every request already sent is in the journal, and the next run settles it first"
       for name in ("cancel", "disable", "enable", "reassign", "reschedule")},
}


def unexpected_error_message(exc: BaseException, note: str = "") -> str:
    """``unexpected error (KeyError at console/bulk/engine.py:123)<note>; please report it``."""
    return f"unexpected error ({exception_summary(exc)}){note}; please report it"


def _dispatch(args: argparse.Namespace, start_up: StartUpPause) -> int:
    try:
        if args.command == "sandbox":
            from console.sandbox.server import run_sandbox_command

            return run_sandbox_command(args)
        if args.command in ("complete", "orders"):
            from console.bulk import headless

            factory = _client_factory(args)
            run = headless.run_complete if args.command == "complete" else headless.run_orders
            return run(args, client_factory=factory)
        if args.command in ACTION_COMMAND_HELP:
            from console.bulk import headless

            return headless.run_action(args, client_factory=_client_factory(args))
        if args.command == "watch":
            from console.watch_command import run_watch

            return run_watch(args, client_factory=_client_factory(args))
        if args.command == "secret":
            return _store_secret(args)
        if args.command == "journal":
            from console.bulk import headless

            args.journal_target = _journal_target(args)  # the current target: its file, its runs
            return headless.run_journal(args)
        return _run_console(args, start_up)
    except _UsageProblem as exc:
        print(f"dispatch-console: {exc}", file=sys.stderr)
        return EXIT_USAGE


class _UsageProblem(Exception):
    pass


def _load_config():
    from console.config import ConfigError, load_config

    try:
        return load_config()
    except ConfigError as exc:
        raise _UsageProblem(str(exc)) from None


def _load_profile(args: argparse.Namespace, config=None):
    from console.config import ConfigError

    config = config if config is not None else _load_config()
    try:
        return config.profile(getattr(args, "profile", None))
    except ConfigError as exc:
        raise _UsageProblem(str(exc)) from None


def _target(args: argparse.Namespace, profile):
    from console.api.errors import InvalidRequest
    from console.connection import ConnectionProblem, resolve_target

    try:
        return resolve_target(
            base_url=args.base_url, force_sandbox=args.sandbox, profile=profile,
            sandbox_seed=args.sandbox_seed, sandbox_orders=args.sandbox_orders,
            **_speed(args),
        )
    except (ConnectionProblem, InvalidRequest) as exc:
        raise _UsageProblem(str(exc)) from None


def _speed(args: argparse.Namespace) -> dict[str, float]:
    speed = getattr(args, "sandbox_speed", 1.0)
    if not 0 < speed <= 10_000:
        raise _UsageProblem("--sandbox-speed must be more than 0 and at most 10000")
    return {"sandbox_speed": speed} if speed != 1.0 else {}


def _client_factory(args: argparse.Namespace):
    """A callable that builds the client (and keeps the embedded sandbox alive beside it)."""
    profile = _load_profile(args)
    target, world_clock = _world_clock(_target(args, profile))

    def factory():
        from console.connection import build_client

        client, _sandbox = build_client(target, **_client_options(profile))
        return client

    factory.target = target  # the headless commands record the account id in the journal
    factory.profile = profile
    factory.now = world_clock  # watch judges LATE on the sandbox's clock when it runs fast (None: the wall clock)
    return factory


def _client_options(profile) -> dict[str, object]:
    """The OrdersClient options a profile sets (none: the client's defaults)."""
    if profile is not None and profile.open_set_window_hours is not None:
        return {"open_set_window_hours": profile.open_set_window_hours}
    return {}


def _journal_target(args: argparse.Namespace):
    """The target ``complete`` would use with the same options and environment, as far as the
    journal needs it (sandbox or not, base URL, account id), without reading any secret: the
    same choice as :func:`console.connection.resolve_target`, which only adds the credentials."""
    from console.api.client import DEFAULT_BASE_URL
    from console.api.credentials import ACCOUNT_ENV, SECRET_ENV
    from console.bulk.headless import JournalTarget
    from console.connection import BASE_URL_ENV, SANDBOX_BASE_URL

    if getattr(args, "sandbox", False):
        return JournalTarget(True, SANDBOX_BASE_URL)
    profile = _load_profile(args)
    env = os.environ
    url = getattr(args, "base_url", None) or env.get(BASE_URL_ENV) or (profile.base_url if profile else None)
    account = env.get(ACCOUNT_ENV, "").strip() or (profile.account_id if profile else None)
    has_secret = bool(env.get(SECRET_ENV)) or bool(profile and profile.secret_key is not None)
    if not account and not has_secret and url is None:
        return JournalTarget(True, SANDBOX_BASE_URL)
    return JournalTarget(False, url or DEFAULT_BASE_URL, account or None)


def _start_sandbox_process(target):
    if not target.sandbox:
        return None
    from console.sandbox.process import start

    return start(target.sandbox_seed, target.sandbox_orders, target.sandbox_speed, target.sandbox_epoch)


def _world_clock(target):
    """With ``--sandbox-speed``, the console's clock and the sandbox's run together from one
    epoch (console/session/clock.py): the target carries it to the sandbox. None: the wall clock."""
    if not target.sandbox or target.sandbox_speed == 1.0:
        return target, None
    import dataclasses

    from console.session.clock import WorldClock

    clock = WorldClock(target.sandbox_speed)
    return dataclasses.replace(target, sandbox_epoch=clock.epoch), clock


def _run_console(args: argparse.Namespace, start_up: StartUpPause | None = None) -> int:
    config = _load_config()  # read once: the profile and the keymap come from the same file
    profile = _load_profile(args, config)
    target = _target(args, profile)
    if args.refresh is not None and not (1 <= args.refresh <= 3600):
        raise _UsageProblem("--refresh must be between 1 and 3600 seconds")
    concurrency = args.concurrency
    if concurrency is None:
        concurrency = (profile.bulk_concurrency if profile else None) or 4
    if not 1 <= concurrency <= 16:
        raise _UsageProblem("--concurrency must be between 1 and 16")
    settle_window = args.settle_window if args.settle_window is not None else (
        profile.settle_window if profile else None)
    if settle_window is not None and not (0 <= settle_window <= 3600):
        raise _UsageProblem("--settle-window must be between 0 and 3600 seconds")

    # The embedded sandbox starts first, in a process of its own: it builds its fleet on the
    # other core while this one imports the UI (console/sandbox/process.py). None: in process.
    target, world_clock = _world_clock(target)
    sandbox_process = _start_sandbox_process(target)

    from console.connection import build_client
    from console.settings import Settings
    from console.ui.app import DispatchApp

    keymap = _checked_keymap(config)  # a bad [keymap] entry is a config error before anything starts
    client, _sandbox = build_client(target, sandbox_process=sandbox_process, **_client_options(profile))
    # Settings (console/settings.py) has no account_id field, and a theme of None would be
    # reported as an unknown theme: pass only what Settings knows, and a theme only when set.
    extra = {"theme": profile.theme} if profile and profile.theme else {}
    extra.update(_change_settings(args, profile))
    settings = Settings(
        base_url=target.base_url,
        ops_group=args.ops_group or (profile.ops_group if profile else None),
        refresh_seconds=args.refresh or (profile.refresh if profile and profile.refresh else 10.0),
        read_only=args.read_only or bool(profile and profile.read_only),
        ascii=args.ascii,
        bulk_concurrency=concurrency,
        settle_window=settle_window,
        profile=profile.name if profile else None,
        palette=args.palette or (profile.palette if profile and profile.palette else "default"),
        keymap=keymap,
        **extra,
    )
    app = DispatchApp(client=client, settings=settings, sandbox=target.sandbox,
                      **({"now": world_clock} if world_clock is not None else {}))
    if start_up is not None:
        start_up.freeze()  # everything above lives as long as the console: frozen, never rescanned
        app.when_first_rows_shown(start_up.done)  # and the collector back on then
    app.run()
    return app.return_code or 0


def _change_settings(args: argparse.Namespace, profile) -> dict[str, object]:
    """The change-detection and notification settings: the command line, else the profile."""
    from console.session.changes import MAX_ETA_SLIP_MINUTES

    out: dict[str, object] = {}
    slip = args.eta_slip if args.eta_slip is not None else (profile.eta_slip_minutes if profile else None)
    if slip is not None:
        if not 0 < slip <= MAX_ETA_SLIP_MINUTES:
            raise _UsageProblem(f"--eta-slip must be more than 0 and at most {MAX_ETA_SLIP_MINUTES} minutes")
        out["eta_slip_minutes"] = slip
    notify = args.notify if args.notify is not None else (profile.notify if profile else None)
    if notify is not None:
        out["notify"] = notify
    if notify:
        from console.notify import in_tmux, methods_for, parse_methods

        # The app reads no environment: how this terminal is notified, and whether to wrap the
        # sequences for tmux, are decided here (as watch decides them).
        out["notify_tmux"] = in_tmux()
        try:
            out["notify_methods"] = parse_methods(args.notify_via) if args.notify_via else methods_for()
        except ValueError as exc:
            raise _UsageProblem(f"--notify-via: {exc}") from None
    if args.notify_kinds:
        from console.notify import parse_kinds

        try:
            out["notify_kinds"] = parse_kinds(args.notify_kinds)
        except ValueError as exc:
            raise _UsageProblem(f"--notify-kinds: {exc}") from None
    elif profile is not None and profile.notify_kinds:
        out["notify_kinds"] = profile.notify_kinds
    return out


def _checked_keymap(config) -> tuple[tuple[str, str], ...]:
    """The config's [keymap], its ids checked against the console's bindings."""
    if not config.keymap:
        # Nothing to check. binding_ids() imports every UI module (each screen, the bulk UI)
        # to collect their bindings: ~50 ms of CPU (measured) that an empty keymap does not need.
        return ()
    from console.config import ConfigError, check_keymap
    from console.ui.keymap import binding_ids

    try:
        check_keymap(config, binding_ids())
    except ConfigError as exc:
        raise _UsageProblem(str(exc)) from None
    return tuple(config.keymap.items())


def _store_secret(args: argparse.Namespace) -> int:
    import getpass

    from console.api.credentials import Secret

    from console.config import ConfigError, default_config_path, load_config, store_secret_in_file
    from console.connection import KEYRING_SERVICE

    path = default_config_path()
    try:
        config = load_config()
        profile = config.profiles.get(args.profile)
    except ConfigError as exc:
        raise _UsageProblem(str(exc)) from None
    if sys.stdin.isatty():
        value = getpass.getpass(f"Secret key for profile {args.profile}: ")
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise _UsageProblem("no secret key was given")
    secret = Secret(value)
    del value
    if not args.to_file:
        account = profile.account_id if profile else None
        if not account:
            raise _UsageProblem(f"profile {args.profile!r} has no account_id in {path}; add it first")
        try:
            import keyring

            keyring.set_password(KEYRING_SERVICE, account, secret.get_secret_value())
        except Exception as exc:  # no keyring package, or no backend on a headless box
            raise _UsageProblem(
                f"the system keyring is not available here ({type(exc).__name__}); "
                "use --to-file to store the secret in the config file at mode 0600"
            ) from None
        print(f"stored the secret for account {account} in the system keyring", file=sys.stderr)
        return EXIT_OK
    try:
        store_secret_in_file(path, args.profile, secret)
    except ConfigError as exc:
        raise _UsageProblem(str(exc)) from None
    print(f"stored the secret in {path} (mode 0600)", file=sys.stderr)
    return EXIT_OK
