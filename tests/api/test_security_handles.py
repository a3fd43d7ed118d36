"""Handles from files and arguments, and where a request with a tricky handle lands.

- Bad handles (empty, white space, CRLF, controls, bidi, zero-width, over the length limit, ".",
  "..", "%2e%2e", ...) given to ``dispatch-console complete`` are refused with the file and line
  (or argument number), shown escaped, and nothing at all is sent.
- Legal but dangerous handles ("a/b", "a?b", "a#b", "a%2Fb", "../x", ...) sent to the REAL served
  sandbox (uvicorn on 127.0.0.1) complete exactly that order: the raw path is the encoded handle,
  and no other order, decoys "a", "b", "x" included, changes state.

(The property that order_path() can only build /orders/<one segment> is in tests/api/test_handles.py.)
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

import pytest

from console.api import OrdersClient
from console.api.handles import MAX_HANDLE_LENGTH
from console.cli import main
from tests.support.hostile import BAD_HANDLES, TRICKY_HANDLES, assert_no_raw_controls, find_leaks
from tests.support.sandbox_fixtures import make_sandbox

TRICKY = TRICKY_HANDLES
DECOYS = ["a", "b", "x", "A", "ab", "a%2Fb-decoy", "orders", "complete", "a%252Fb"]


@pytest.fixture
def served(serve_sandbox):
    sandbox = make_sandbox(orders=20, seed=3)
    for handle in TRICKY + DECOYS:
        sandbox.add_order(handle, status="assigned")
    return serve_sandbox(sandbox), sandbox


def states(sandbox) -> dict[tuple, str]:
    return {(o.handle, o.type, o.type_index, o.attempt): o.status for o in sandbox.orders()}


def changed(before: dict[tuple, str], after: dict[tuple, str]) -> set[str]:
    return {key[0] for key in after if before.get(key) != after[key]}


@pytest.fixture
def cli_env(monkeypatch, tmp_path, served):
    _url, sandbox = served
    for name in list(os.environ):
        if name.startswith(("HYPERTRACK_", "DISPATCH_CONSOLE")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HYPERTRACK_ACCOUNT_ID", sandbox.credentials.account_id)
    monkeypatch.setenv("HYPERTRACK_SECRET_KEY", sandbox.credentials.secret_key.get_secret_value())
    monkeypatch.setenv("DISPATCH_CONSOLE_JOURNAL", str(tmp_path / "journal.db"))
    empty = tmp_path / "config.toml"
    empty.write_text("")
    monkeypatch.setenv("DISPATCH_CONSOLE_CONFIG", str(empty))


# --------------------------------------------------------------------------- refused handles


def test_every_bad_line_of_a_handle_file_is_refused_with_its_line_and_nothing_is_sent(served, cli_env, tmp_path, capsys):
    url, sandbox = served
    good = ["a/b", "x"]
    bad = [h for h in BAD_HANDLES.values() if "\n" not in h]  # one handle per line
    lines = good[:1] + bad + good[1:]
    path = tmp_path / "handles.txt"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"))
    requests_before = len(sandbox.stats.snapshot())
    before = states(sandbox)

    code = main(["complete", "--base-url", url, "--yes", "--from-file", str(path)])
    out = capsys.readouterr()
    assert code == 2
    assert "nothing was sent" in out.err
    assert_no_raw_controls(out.err, "stderr")
    for number, handle in enumerate(lines, start=1):
        if handle in bad:
            assert f"{path}:{number}:" in out.err, f"line {number} ({handle[:20]!r}) is not reported:\n{out.err}"
    assert f"{path}:1:" not in out.err and f"{path}:{len(lines)}:" not in out.err  # the good lines
    assert max(len(line) for line in out.err.splitlines()) < 400  # the 10,000-character handle is cut
    assert len(sandbox.stats.snapshot()) == requests_before  # not even a lookup
    assert states(sandbox) == before


@pytest.mark.parametrize("name", ["esc", "bidi", "dotdot", "enc_dotdot", "too_long", "padded", "zero_width"])
def test_a_bad_handle_argument_is_refused_with_its_position(name, served, cli_env, capsys):
    url, sandbox = served
    requests_before = len(sandbox.stats.snapshot())
    code = main(["complete", "--base-url", url, "--yes", "--", "x", BAD_HANDLES[name]])
    out = capsys.readouterr()
    assert code == 2
    assert "argument 2" in out.err, out.err
    assert_no_raw_controls(out.err, "stderr")
    assert len(sandbox.stats.snapshot()) == requests_before


def test_the_length_limit_is_exact(served, cli_env, capsys):
    url, sandbox = served
    longest = "h" * MAX_HANDLE_LENGTH
    code = main(["complete", "--base-url", url, "--yes", "--", longest + "h"])
    assert code == 2
    assert "longer than" in capsys.readouterr().err


# --------------------------------------------------------------------------- where requests land


async def test_tricky_handles_reach_exactly_their_order_on_the_real_server(served):
    url, sandbox = served
    before = states(sandbox)
    async with OrdersClient(sandbox.credentials, base_url=url) as client:
        for handle in TRICKY:
            looked_up = await client.get_order(handle)
            assert looked_up.order_handle == handle
            done = await client.complete(looked_up.ref)
            assert (done.order_handle, done.status) == (handle, "completed")
    after = states(sandbox)
    assert changed(before, after) == set(TRICKY)
    assert all(after[k] == before[k] for k in before if k[0] in DECOYS), "a decoy order changed"
    posts = [r for r in sandbox.stats.snapshot() if r.method == "POST"]
    assert sorted(r.raw_path for r in posts) == sorted(f"/orders/{quote(h, safe='')}/complete" for h in TRICKY)
    assert {r.handle for r in posts} == set(TRICKY)
    assert sandbox.stats.max_completions_per_order() == 1


def test_the_headless_command_completes_exactly_the_tricky_handles(served, cli_env, tmp_path, capsys):
    url, sandbox = served
    before = states(sandbox)
    path = tmp_path / "handles.txt"
    path.write_text("\n".join(TRICKY[:6]) + "\n")
    code = main(["complete", "--base-url", url, "--yes", "--json", "--from-file", str(path), "--", *TRICKY[6:]])
    out = capsys.readouterr()
    assert code == 0, out.err
    results = [json.loads(line) for line in out.out.splitlines() if line.strip()]
    assert len(results) == len(TRICKY)
    after = states(sandbox)
    assert changed(before, after) == set(TRICKY)
    assert sandbox.stats.touched_handles() == set(TRICKY)
    assert sandbox.stats.max_completions_per_order() == 1
    assert find_leaks(out.out + out.err, account=sandbox.credentials.account_id,
                      secret=sandbox.credentials.secret_key.get_secret_value()) == []
