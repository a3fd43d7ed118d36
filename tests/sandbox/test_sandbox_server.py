"""Serving the sandbox: the command-line options, what it prints (and never prints), the thread
helper, and a real `python -m console.sandbox.server` process."""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from console.sandbox import server as srv
from console.sandbox.server import add_sandbox_arguments, faults_from_args, serve, serve_in_thread
from tests.support.sandbox_fixtures import make_sandbox

ROOT = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_sandbox_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_and_fault_options():
    args = parse()
    assert (args.host, args.port, args.seed, args.orders) == ("127.0.0.1", 8765, 7, 500)
    faults = faults_from_args(args)
    assert faults.latency == (0.0, 0.0) and faults.error_rate == 0.0
    args = parse("--latency", "0.1-0.4", "--error-rate", "0.05", "--rate-limit", "3", "--retry-after", "9",
                 "--drop-after-apply", "0.2", "--seed", "11", "--orders", "40", "--port", "0")
    faults = faults_from_args(args)
    assert faults.latency == (0.1, 0.4) and faults.error_rate == 0.05 and faults.retry_after == 9
    assert (args.seed, args.orders, args.port) == (11, 40, 0)
    assert parse("--latency", "0.25").latency == (0.25, 0.25)
    assert faults_from_args(parse()).apply_faults_to == ("complete",)
    assert faults_from_args(parse("--apply-faults-to", "cancel,reassign")).apply_faults_to == ("cancel", "reassign")
    assert faults_from_args(parse("--apply-faults-to", "all")).apply_faults_to == (
        "complete", "cancel", "disable", "enable", "reassign", "reschedule")


@pytest.mark.parametrize("argv", [
    ["--latency", "fast"], ["--latency", "0.5-0.1"], ["--error-rate", "2"], ["--orders", "-1"], ["--port", "x"],
    ["--apply-faults-to", "teleport"], ["--apply-faults-to", ","],
])
def test_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit):
        parse(*argv)


class _NoServer:
    """Stands in for uvicorn so that serve() returns at once (it would serve until Ctrl-C)."""

    def run(self, sockets=None) -> None:
        return None


def test_serve_prints_url_and_the_sandbox_credentials(monkeypatch):
    monkeypatch.setattr(srv, "_server", lambda sandbox, level: _NoServer())
    out = io.StringIO()
    assert serve(port=0, orders=10, environ={}, out=out) == 0
    text = out.getvalue()
    assert "http://127.0.0.1:" in text and "'sandbox'" in text and "'sandbox-secret'" in text


def test_serve_accepts_env_credentials_without_printing_the_secret(monkeypatch):
    monkeypatch.setattr(srv, "_server", lambda sandbox, level: _NoServer())
    out = io.StringIO()
    env = {"HYPERTRACK_ACCOUNT_ID": "acct-42", "HYPERTRACK_SECRET_KEY": "s3cr3t-value-xyz"}
    assert serve(port=0, orders=10, environ=env, out=out) == 0
    text = out.getvalue()
    assert "acct-42" in text and "s3cr3t-value-xyz" not in text and "sandbox-secret" not in text


def test_a_port_in_use_is_an_error_not_a_traceback(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert serve(port=port, orders=5, environ={}, out=io.StringIO()) == 1
    assert "cannot listen" in capsys.readouterr().err


def test_serve_in_thread_starts_and_stops_cleanly():
    sb = make_sandbox(orders=20)
    with serve_in_thread(sb) as url:
        port = int(url.rsplit(":", 1)[1])
        r = httpx.get(url + "/orders/", auth=("sandbox", "sandbox-secret"))
        assert r.status_code == 200 and len(r.json()["orders"]) == 20
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more


def test_a_real_sandbox_process(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERTRACK_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "console.sandbox.server", "--port", str(port), "--orders", "30", "--seed", "3"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        banner = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/orders/", auth=("sandbox", "sandbox-secret"), timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the sandbox process did not answer"
                time.sleep(0.1)
        assert r.status_code == 200 and len(r.json()["orders"]) == 30
        assert r.headers["apigw-requestid"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
