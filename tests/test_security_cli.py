"""Bad input from the supervisor (their config file, profile name, base URL, options): one clear
message naming the file, the line and the key; exit 2; no traceback; nothing lost (the config
file is left byte for byte as it was); a secret in the file is never echoed.

Run through ``console.cli.main`` (in process: these all stop before any UI or request).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from console.cli import main
from tests.support.hostile import FAKE_ACCOUNT, FAKE_SECRET, find_leaks


@pytest.fixture
def env(monkeypatch, tmp_path):
    # None of these inputs may start the console: if one did, fail instead of taking the
    # test runner's terminal.
    def must_not_run(self, *args, **kwargs):
        raise AssertionError("the console started despite bad input")

    monkeypatch.setattr("console.ui.app.DispatchApp.run", must_not_run)
    for name in list(os.environ):
        if name.startswith(("HYPERTRACK_", "DISPATCH_CONSOLE")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DISPATCH_CONSOLE_JOURNAL", str(tmp_path / "journal.db"))
    return monkeypatch


def config(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    assert out.out == "", out.out
    return code, out.err


def one_clear_message(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one message, got:\n{err}"
    assert "Traceback" not in err
    assert lines[0].startswith("dispatch-console")
    return lines[0]


GOOD_PROFILE = '[profiles.day]\naccount_id = "acct-1"\nops_group = "oak"\n'

BAD_CONFIGS = {
    # name: (text, words the message must hold)
    "invalid_toml": (GOOD_PROFILE + "refresh = = 5\n", ["line 4", "not valid TOML"]),
    "unknown_key": (GOOD_PROFILE + "refesh = 5\n", ["line 4", "profiles.day.refesh", "unknown key"]),
    "wrong_type": (GOOD_PROFILE + 'refresh = "soon"\n', ["line 4", "profiles.day.refresh", "number"]),
    "out_of_range": (GOOD_PROFILE + "bulk_concurrency = 500\n", ["line 4", "profiles.day.bulk_concurrency"]),
    "http_base_url": (GOOD_PROFILE + 'base_url = "http://api.hypertrack.com"\n',
                      ["line 4", "profiles.day.base_url", "https"]),
    "unknown_default": ('default_profile = "night"\n' + GOOD_PROFILE, ["line 1", "default_profile", "night"]),
    # A quoted key: named (escaped) but without its line (the locator only finds bare keys).
    "hostile_key": (GOOD_PROFILE + '"a\\u001b]0;pwned\\u0007" = 1\n', ["profiles.day.a", "\\x1b]0;pwned\\x07"]),
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
@pytest.mark.parametrize("command", [[], ["orders"], ["complete", "--yes", "h-1"]])
def test_a_bad_config_is_one_message_naming_file_line_and_key(name, command, env, tmp_path, capsys):
    text, words = BAD_CONFIGS[name]
    path = config(tmp_path, text)
    env.setenv("DISPATCH_CONSOLE_CONFIG", str(path))
    before = path.read_bytes()
    code, err = run(capsys, *command, "--profile", "day")
    assert code == 2
    message = one_clear_message(err)
    assert str(path) in message
    for word in words:
        assert word in message, message
    assert "\x1b" not in message
    assert path.read_bytes() == before  # nothing lost: the file is untouched
    assert not (tmp_path / "journal.db").exists()  # nothing started


@pytest.mark.parametrize("command", [[], ["orders"]])
def test_an_unknown_profile_lists_the_known_ones(command, env, tmp_path, capsys):
    path = config(tmp_path, GOOD_PROFILE + '[profiles.night]\naccount_id = "acct-2"\n')
    env.setenv("DISPATCH_CONSOLE_CONFIG", str(path))
    code, err = run(capsys, *command, "--profile", "dya\x1b[2J")
    assert code == 2
    message = one_clear_message(err)
    assert "no profile named" in message and "day, night" in message and str(path) in message
    assert "\\x1b[2J" in message and "\x1b" not in message


@pytest.mark.parametrize("kind", ["directory", "not_utf8", "missing_named_file"])
def test_an_unreadable_config_is_one_message(kind, env, tmp_path, capsys):
    path = tmp_path / "config.toml"
    if kind == "directory":
        path.mkdir()
    elif kind == "not_utf8":
        path.write_bytes(b'[profiles.day]\naccount_id = "\xff\xfe"\n')
    env.setenv("DISPATCH_CONSOLE_CONFIG", str(path))
    code, err = run(capsys, "orders")
    assert code == 2
    message = one_clear_message(err)
    assert str(path) in message


SECRET_PROFILE = f'[profiles.day]\naccount_id = "{FAKE_ACCOUNT}"\nsecret_key = "{FAKE_SECRET}"\n'


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_config_holding_a_secret_readable_by_others_is_refused_without_echoing_it(mode, env, tmp_path, capsys):
    path = config(tmp_path, SECRET_PROFILE, mode)
    env.setenv("DISPATCH_CONSOLE_CONFIG", str(path))
    code, err = run(capsys, "orders", "--profile", "day", "--base-url", "http://127.0.0.1:9")
    assert code == 2
    message = one_clear_message(err)
    assert "chmod 600" in message and str(path) in message
    assert find_leaks(err) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown the file")
def test_a_config_holding_a_secret_owned_by_another_user_is_refused(env, tmp_path, capsys):
    path = config(tmp_path, SECRET_PROFILE, 0o600)
    os.chown(path, 65534, 65534)
    env.setenv("DISPATCH_CONSOLE_CONFIG", str(path))
    code, err = run(capsys, "orders", "--profile", "day", "--base-url", "http://127.0.0.1:9")
    assert code == 2
    message = one_clear_message(err)
    assert "owned by another user" in message
    assert find_leaks(err) == []


def test_a_secret_broken_toml_line_is_not_echoed(env, tmp_path, capsys):
    path = config(tmp_path, f'[profiles.day]\nsecret_key = "{FAKE_SECRET}\n', 0o644)  # unterminated
    env.setenv("DISPATCH_CONSOLE_CONFIG", str(path))
    code, err = run(capsys, "orders", "--profile", "day")
    assert code == 2
    one_clear_message(err)
    assert find_leaks(err) == []


@pytest.mark.parametrize("how", ["flag", "environment", "profile"])
@pytest.mark.parametrize("url", ["http://api.hypertrack.com", "http://10.0.0.7:8080", "ftp://127.0.0.1"])
def test_a_non_loopback_http_base_url_is_refused(how, url, env, tmp_path, capsys):
    env.setenv("HYPERTRACK_ACCOUNT_ID", FAKE_ACCOUNT)
    env.setenv("HYPERTRACK_SECRET_KEY", FAKE_SECRET)
    args = ["orders"]
    if how == "flag":
        args += ["--base-url", url]
    elif how == "environment":
        env.setenv("HYPERTRACK_BASE_URL", url)
    else:
        path = config(tmp_path, f'[profiles.day]\nbase_url = "{url}"\n')
        env.setenv("DISPATCH_CONSOLE_CONFIG", str(path))
        args += ["--profile", "day"]
    code, err = run(capsys, *args)
    assert code == 2
    message = one_clear_message(err)
    assert "http" in message
    assert find_leaks(err) == []


@pytest.mark.parametrize("args,words", [
    (["--concurrency", "17"], "concurrency"),
    (["--concurrency", "0"], "concurrency"),
    (["--refresh", "0"], "refresh"),
    (["--refresh", "100000"], "refresh"),
])
def test_out_of_range_console_options_are_one_message(args, words, env, capsys):
    env.setenv("HYPERTRACK_ACCOUNT_ID", FAKE_ACCOUNT)
    env.setenv("HYPERTRACK_SECRET_KEY", FAKE_SECRET)
    code, err = run(capsys, "--base-url", "http://127.0.0.1:9", *args)
    assert code == 2
    assert words in one_clear_message(err)


def test_credentials_missing_half_is_one_message(env, capsys):
    env.setenv("HYPERTRACK_SECRET_KEY", FAKE_SECRET)
    code, err = run(capsys, "orders", "--base-url", "https://v3.api.hypertrack.com")
    assert code == 2
    message = one_clear_message(err)
    assert "HYPERTRACK_ACCOUNT_ID" in message
    assert find_leaks(err) == []
