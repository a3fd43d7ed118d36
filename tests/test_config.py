"""Config profiles: valid files load; every problem names the file, the line and the key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from console.config import CONFIG_ENV, ConfigError, load_config


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_profiles_load_with_their_values(tmp_path):
    path = write(tmp_path, """
default_profile = "day"

[profiles.day]
account_id = "acct-1"
base_url = "https://v3.api.hypertrack.com"
ops_group = "oak-depot"
refresh = 5
bulk_concurrency = 8
settle_window = 90
read_only = false

[profiles.audit]
account_id = "acct-1"
read_only = true
""")
    config = load_config(path)
    assert config.profile(None).name == "day"
    day = config.profile("day")
    assert (day.ops_group, day.refresh, day.bulk_concurrency, day.read_only) == ("oak-depot", 5, 8, False)
    assert config.profile("audit").read_only is True
    assert day.settle_window == 90 and config.profile("audit").settle_window is None


def test_missing_default_file_is_an_empty_config(tmp_path, monkeypatch):
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    config = load_config()
    assert config.profiles == {} and config.profile(None) is None


def test_the_environment_variable_names_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, '[profiles.x]\nops_group = "g"\n')
    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert load_config().profile("x").ops_group == "g"


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config()


@pytest.mark.parametrize(
    "text, line, key, words",
    [
        ('[profiles.day]\nops_group = "g"\nrefesh = 5\n', 3, "profiles.day.refesh", "unknown key"),
        ('[profiles.day]\n\nrefresh = "fast"\n', 3, "profiles.day.refresh", "must be a number"),
        ('[profiles.day]\nread_only = "yes"\n', 2, "profiles.day.read_only", "true or false"),
        ('[profiles.day]\nbulk_concurrency = 99\n', 2, "profiles.day.bulk_concurrency", "between 1 and 16"),
        ('[profiles.day]\nsettle_window = -1\n', 2, "profiles.day.settle_window", "between 0 and 3600"),
        ('[profiles.day]\nsettle_window = "long"\n', 2, "profiles.day.settle_window", "must be a number"),
        ('[profiles.day]\nbase_url = "http://example.com"\n', 2, "profiles.day.base_url", "loopback"),
        ('default_profile = "night"\n[profiles.day]\n', 1, "default_profile", "does not exist"),
        ('colour = "red"\n', 1, "colour", "unknown setting"),
        # Keys and headers spelt with quotes, dots and blanks, as TOML allows.
        ('[profiles."day"]\nops_group = "g"\n"refresh" = "fast"\n', 3, "profiles.day.refresh", "must be a number"),
        ("[ profiles . 'day' ]\n'read_only' = 1\n", 2, "profiles.day.read_only", "true or false"),
        ('[profiles]\nday.ops_group = "g"\nday . refesh = 5\n', 3, "profiles.day.refesh", "unknown key"),
        ('profiles.day.bulk_concurrency = 99\n', 1, "profiles.day.bulk_concurrency", "between 1 and 16"),
        ('"colour" = "red"\n', 1, "colour", "unknown setting"),
    ],
)
def test_problems_name_file_line_and_key(tmp_path, text, line, key, words):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert (err.line, err.key) == (line, key)
    message = str(err)
    assert str(path) in message and f"line {line}" in message and words in message


def test_invalid_toml_reports_its_line(tmp_path):
    path = write(tmp_path, '[profiles.day]\nops_group = "g"\nrefresh = = 3\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.line == 3 and "not valid TOML" in str(info.value)


def test_unknown_profile_lists_the_known_ones(tmp_path):
    config = load_config(write(tmp_path, '[profiles.day]\n[profiles.night]\n'))
    with pytest.raises(ConfigError, match="no profile named 'evening' \\(profiles: day, night\\)"):
        config.profile("evening")


def test_a_secret_in_a_file_others_can_read_is_refused(tmp_path):
    path = write(tmp_path, '[profiles.day]\naccount_id = "a"\nsecret_key = "s3cr3t-value"\n', mode=0o644)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "chmod 600" in str(info.value)
    assert "s3cr3t-value" not in str(info.value)


def test_a_secret_in_a_private_file_is_accepted_and_hidden(tmp_path):
    path = write(tmp_path, '[profiles.day]\naccount_id = "a"\nsecret_key = "s3cr3t-value"\n', mode=0o600)
    profile = load_config(path).profile("day")
    assert profile.secret_key.get_secret_value() == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(profile)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")
def test_a_secret_in_a_file_owned_by_someone_else_is_refused(tmp_path):
    path = write(tmp_path, '[profiles.day]\nsecret_key = "x"\n')
    os.chown(path, 12345, -1)
    with pytest.raises(ConfigError, match="owned by another user"):
        load_config(path)


def test_storing_a_secret_creates_a_private_file_even_with_umask_000(tmp_path):
    from pydantic import SecretStr

    from console.config import store_secret_in_file

    path = tmp_path / "sub" / "config.toml"
    old = os.umask(0)
    try:
        store_secret_in_file(path, "day", SecretStr("first-secret"))
    finally:
        os.umask(old)
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert load_config(path).profile("day").secret_key.get_secret_value() == "first-secret"


def test_storing_a_secret_keeps_the_other_settings_and_replaces_the_old_secret(tmp_path):
    from pydantic import SecretStr

    from console.config import store_secret_in_file

    path = write(tmp_path, '[profiles.day]\nops_group = "g"\nsecret_key = "old"\n\n[profiles.night]\nrefresh = 5\n',
                 mode=0o644)
    store_secret_in_file(path, "day", SecretStr("new-secret"))
    config = load_config(path)
    assert config.profile("day").secret_key.get_secret_value() == "new-secret"
    assert config.profile("day").ops_group == "g" and config.profile("night").refresh == 5
    assert path.read_text().count("secret_key") == 1
    assert path.stat().st_mode & 0o777 == 0o600

