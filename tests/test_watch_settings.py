"""The change and notification settings: profile keys, command-line flags, Settings checks."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from console import cli
from console.config import ConfigError, load_config
from console.notify import methods_for
from console.settings import Settings
from console.watch_command import add_watch_arguments, run_watch


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path




def test_profile_keys_load_with_their_values(tmp_path):
    config = load_config(write(tmp_path, """
[profiles.day]
eta_slip_minutes = 10
notify = true
notify_kinds = ["new-red", "late"]
"""))
    day = config.profile("day")
    assert (day.eta_slip_minutes, day.notify, day.notify_kinds) == (10, True, ("new-red", "late"))
    assert config.profile("day") == day


@pytest.mark.parametrize("line, message", [
    ("eta_slip_minutes = 0", "must be more than 0 and at most 1440 minutes"),
    ("eta_slip_minutes = \"ten\"", "must be a number"),
    ("notify = 1", "must be true or false"),
    ("notify_kinds = \"new-red\"", "must be a list of words in quotes"),
    ("notify_kinds = [\"purple\"]", "must be a list of: new-red, risk, worst"),
    ("notify_kinds = []", "must be a list of"),
])
def test_bad_values_name_the_line_and_key(tmp_path, line, message):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, f"[profiles.day]\n{line}\n"))
    text = str(info.value)
    assert message in text
    assert ", line 2, key 'profiles.day." in text


def _console_args(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(list(argv))


def test_command_line_wins_over_the_profile(tmp_path, monkeypatch):
    monkeypatch.delenv("TMUX", raising=False)
    profile = load_config(write(tmp_path, """
[profiles.day]
eta_slip_minutes = 10
notify = true
notify_kinds = ["late"]
""")).profile("day")
    assert cli._change_settings(_console_args(), profile) == {
        "eta_slip_minutes": 10, "notify": True, "notify_kinds": ("late",), "notify_tmux": False,
        "notify_methods": methods_for()}
    monkeypatch.setenv("TMUX", "/tmp/tmux-1000/default,1,0")  # inside tmux: wrapped for passthrough
    assert cli._change_settings(_console_args(), profile)["notify_tmux"] is True
    assert cli._change_settings(_console_args("--notify-via", "bell,osc777"), profile)["notify_methods"] == (
        "bell", "osc777")
    with pytest.raises(cli._UsageProblem, match="--notify-via"):
        cli._change_settings(_console_args("--notify-via", "smoke"), profile)
    assert cli._change_settings(_console_args("--eta-slip", "5", "--no-notify", "--notify-kinds", "new-red,eta"),
                                profile) == {"eta_slip_minutes": 5, "notify": False, "notify_kinds": ("new-red", "eta")}
    assert cli._change_settings(_console_args(), None) == {}
    with pytest.raises(cli._UsageProblem, match="--eta-slip"):
        cli._change_settings(_console_args("--eta-slip", "0"), None)
    with pytest.raises(cli._UsageProblem, match="--notify-kinds"):
        cli._change_settings(_console_args("--notify-kinds", "purple"), None)


def test_settings_check_their_values():
    assert Settings(eta_slip_minutes=5, notify=True, notify_kinds=("late", "new-red")).notify
    with pytest.raises(ValueError):
        Settings(eta_slip_minutes=0)
    with pytest.raises(ValueError):
        Settings(notify_kinds=("purple",))


@pytest.mark.parametrize("argv, message", [
    (["--interval", "0.5"], "--interval must be between 1 and 3600 seconds"),
    (["--eta-slip", "-1"], "--eta-slip must be more than 0"),
    (["--notify", "--notify-kinds", "purple"], "--notify-kinds: notification kinds must be among"),
])
def test_watch_refuses_bad_values_with_exit_2(argv, message):
    parser = argparse.ArgumentParser()
    add_watch_arguments(parser)
    err = io.StringIO()
    code = run_watch(parser.parse_args(argv), client_factory=lambda: pytest.fail("no client"),
                     stdout=io.StringIO(), stderr=err)
    assert code == 2
    assert message in err.getvalue()


def test_sandbox_speed_out_of_range_is_a_usage_error(capsys):
    assert cli.main(["watch", "--sandbox", "--sandbox-speed", "0"]) == 2
    assert "--sandbox-speed must be more than 0" in capsys.readouterr().err
