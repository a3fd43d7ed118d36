"""Serve the sandbox over real HTTP with uvicorn: from the command line, or in a thread for tests.

``dispatch-console sandbox --host 127.0.0.1 --port 8765 --seed 7 --orders 500 [--latency 0.1-0.4]
[--error-rate 0.05] ...`` is wired by the console's cli.py through :func:`add_sandbox_arguments`
and :func:`run_sandbox_command`.

Credentials: the sandbox's own fake pair (account ``sandbox``, secret ``sandbox-secret``) unless
``HYPERTRACK_ACCOUNT_ID``/``HYPERTRACK_SECRET_KEY`` are set, in which case those are accepted and
the secret is never printed. Secrets are never taken from argv.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

from typing import TYPE_CHECKING

from console.api.credentials import ACCOUNT_ENV, SECRET_ENV
from console.sandbox.defaults import DEFAULT_ACCOUNT_ID, DEFAULT_HOST, DEFAULT_PORT, DEFAULT_SECRET_KEY
from console.sandbox.faults import ORDER_ACTIONS, Faults

if TYPE_CHECKING:  # the app (Starlette) and uvicorn load only when a sandbox is served
    from console.sandbox.core import Sandbox

STARTUP_TIMEOUT_S = 15.0


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not the default 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    # sockets whose proto says TCP, and accepted sockets inherit it. With Nagle on, every answer
    # on a kept-alive connection after the first waited ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _server(sandbox: "Sandbox", log_level: str) -> Any:
    import uvicorn

    config = uvicorn.Config(
        sandbox.app, http="h11", lifespan="off", log_level=log_level, access_log=False,
        log_config=None,  # leave the host program's logging configuration alone
        timeout_graceful_shutdown=2,
        # The list's answers carry the simulated clock's Date (console/sandbox/app.py); uvicorn's
        # own (the wall clock) would contradict it under a manual clock.
        date_header=False,
    )
    return uvicorn.Server(config)


@contextlib.contextmanager
def serve_in_thread(sandbox: "Sandbox", host: str = DEFAULT_HOST, port: int = 0,
                    log_level: str = "warning") -> Iterator[str]:
    """Serve ``sandbox`` from a background thread; yields its base URL (``http://host:port``).

    Port 0 picks a free port. Waits until uvicorn accepts connections; shuts it down on exit.
    """
    sock = _bind(host, port)
    actual_port = sock.getsockname()[1]
    server = _server(sandbox, log_level)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="sandbox-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{_url_host(host)}:{actual_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, seed: int = 7, orders: int = 500,
          faults: Faults | None = None, environ: Mapping[str, str] | None = None,
          out: TextIO | None = None, speed: float = 1.0, elsewhere: bool = True) -> int:
    """Run a sandbox until interrupted (Ctrl-C). Returns a process exit code."""
    from console.sandbox.core import Sandbox

    out = out or sys.stdout
    env = os.environ if environ is None else environ
    account = env.get(ACCOUNT_ENV, "").strip()
    secret = env.get(SECRET_ENV, "")
    from_env = bool(account and secret)
    sandbox = Sandbox(
        seed=seed, orders=orders, account_id=account if from_env else DEFAULT_ACCOUNT_ID,
        secret_key=secret if from_env else DEFAULT_SECRET_KEY, faults=faults, speed=speed,
        elsewhere=elsewhere,
    )
    try:
        sock = _bind(host, port)
    except OSError as exc:
        print(f"sandbox: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    url = f"http://{_url_host(host)}:{sock.getsockname()[1]}"
    print(f"HyperTrack sandbox (seed {seed}, {len(sandbox.fleet.ordered)} orders) at {url}", file=out)
    if from_env:
        print(f"  accepts account {account!r} with the secret from {SECRET_ENV} (not shown)", file=out)
    else:
        print(f"  accepts account {DEFAULT_ACCOUNT_ID!r}, secret {DEFAULT_SECRET_KEY!r} "
              "(the sandbox's own fake credentials)", file=out)
        print(f"  e.g. {ACCOUNT_ENV}={DEFAULT_ACCOUNT_ID} {SECRET_ENV}={DEFAULT_SECRET_KEY} "
              f"dispatch-console --base-url {url}", file=out)
    if not _is_loopback(host):
        print("  warning: listening beyond this machine; anyone who can reach it can use it", file=out)
    out.flush()
    server = _server(sandbox, "warning")
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------------------- command line


def _latency(text: str) -> tuple[float, float]:
    """``0.2`` (fixed) or ``0.1-0.5`` (uniform between), in seconds."""
    low, sep, high = text.partition("-")
    try:
        a = float(low)
        b = float(high) if sep else a
    except ValueError:
        raise argparse.ArgumentTypeError(f"latency must be SECONDS or MIN-MAX, not {text!r}") from None
    if a < 0 or b < a:
        raise argparse.ArgumentTypeError("latency needs 0 <= MIN <= MAX")
    return a, b


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _actions(text: str) -> tuple[str, ...]:
    if text.strip() == "all":
        return ORDER_ACTIONS
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in ORDER_ACTIONS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"not write actions: {', '.join(unknown) or text!r} "
                                         f"(choose from {', '.join(ORDER_ACTIONS)}, or all)")
    return names


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 10_000:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 10000")
    return value


def add_sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``dispatch-console sandbox``."""
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_non_negative, default=DEFAULT_PORT, help="port (default 8765; 0 = any free)")
    parser.add_argument("--seed", type=int, default=7, help="fleet seed: the same seed gives the same fleet")
    parser.add_argument("--orders", type=_non_negative, default=500, help="number of orders (default 500)")
    parser.add_argument("--speed", type=_speed, default=1.0, metavar="X",
                        help="simulated clock speed: 60 = an hour of fleet activity per minute (default 1)")
    parser.add_argument("--no-elsewhere", dest="elsewhere", action="store_false",
                        help="no supervisor elsewhere reassigning and cancelling orders")
    faults = parser.add_argument_group("faults (for training and testing the console)")
    faults.add_argument("--latency", type=_latency, metavar="SECONDS|MIN-MAX",
                        help="added to every response, fixed or uniform between MIN and MAX")
    faults.add_argument("--error-rate", type=_probability, default=0.0, metavar="P",
                        help="share of requests answered 500/502/503/504 before anything is applied")
    faults.add_argument("--rate-limit", type=_non_negative, default=0, metavar="N",
                        help="answer the first N requests with 429")
    faults.add_argument("--retry-after", type=_non_negative, default=2, metavar="SECONDS",
                        help="Retry-After of those 429s (default 2)")
    faults.add_argument("--drop-after-apply", type=_probability, default=0.0, metavar="P",
                        help="share of completes applied and then answered by a dropped connection")
    faults.add_argument("--drop-before-apply", type=_probability, default=0.0, metavar="P",
                        help="share of completes dropped before anything is applied")
    faults.add_argument("--gateway-timeout-after-apply", type=_probability, default=0.0, metavar="P",
                        help="share of completes applied and then answered with a gateway 504")
    faults.add_argument("--apply-faults-to", type=_actions, default=("complete",), metavar="ACTION[,ACTION...]",
                        help="write actions the three options above hit (default complete; 'all' for "
                             f"{', '.join(ORDER_ACTIONS)})")
    faults.add_argument("--fault-seed", type=int, default=None, help="seed of the fault dice (default: --seed)")


def faults_from_args(args: argparse.Namespace) -> Faults:
    faults = Faults(args.fault_seed if args.fault_seed is not None else args.seed)
    if args.latency:
        faults.set_latency(*args.latency)
    faults.set_error_rate(args.error_rate)
    if args.rate_limit:
        faults.rate_limit(args.rate_limit, args.retry_after)
    if args.drop_after_apply:
        faults.drop_after_apply(0, probability=args.drop_after_apply)
    if args.drop_before_apply:
        faults.drop_before_apply(0, probability=args.drop_before_apply)
    if args.gateway_timeout_after_apply:
        faults.gateway_timeout_after_apply(0, probability=args.gateway_timeout_after_apply)
    faults.apply_to(args.apply_faults_to)
    return faults


def run_sandbox_command(args: argparse.Namespace) -> int:
    """``dispatch-console sandbox ...``: serve until interrupted."""
    return serve(host=args.host, port=args.port, seed=args.seed, orders=args.orders, faults=faults_from_args(args),
                 speed=getattr(args, "speed", 1.0), elsewhere=getattr(args, "elsewhere", True))


def main(argv: list[str] | None = None) -> int:
    """``python -m console.sandbox.server`` (the same options as ``dispatch-console sandbox``)."""
    parser = argparse.ArgumentParser(prog="python -m console.sandbox.server", description=__doc__.split("\n")[0])
    add_sandbox_arguments(parser)
    return run_sandbox_command(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
