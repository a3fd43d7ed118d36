"""Configuration profiles: a TOML file in the platform config directory.

::

    default_profile = "day"

    [profiles.day]
    account_id = "3f1c..."
    base_url = "https://v3.api.hypertrack.com"
    ops_group = "oak-depot"
    refresh = 10
    open_set_window_hours = 48   # dispatched/summarizing orders: created within this window
    bulk_concurrency = 4
    settle_window = 60       # seconds a sent request may still be in flight (default 60)
    theme = "textual-dark"
    read_only = false
    eta_slip_minutes = 15    # an ETA moving later by this much is a change (default 15)
    notify = true            # bell + desktop notification through the terminal (default off)
    notify_kinds = ["new-red", "late"]   # what notifies (default ["new-red"])

    [profiles.audit]
    account_id = "3f1c..."
    read_only = true
    palette = "colorblind"

    [keymap]                 # binding id = "key" or "key,other key" (the help lists the ids)
    "order.complete" = "x"
    "view.filter" = "f,slash"

The secret is never required here: it comes from ``HYPERTRACK_SECRET_KEY`` (or the system
keyring, when the optional ``keyring`` package is installed). A profile *may* hold
``secret_key`` only if the file is mode 0600 and owned by the user; otherwise the file is refused.

Every problem is reported once, naming the file, the line and the key (:class:`ConfigError`).
No Textual imports: the CLI reads the config before any UI exists.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.api.credentials import Secret

from console.api.sanitize import sanitize
from console.session.changes import MAX_ETA_SLIP_MINUTES

CONFIG_ENV = "DISPATCH_CONSOLE_CONFIG"
APP_NAME = "dispatch-console"
MAX_CONCURRENCY = 16
#: The longest settle window a profile or the command line may ask for (an hour).
MAX_SETTLE_WINDOW = 3600
MAX_OPEN_SET_WINDOW_HOURS = 720  # the same as console.api.client.MAX_OPEN_SET_WINDOW_HOURS


class ConfigError(Exception):
    """A config problem, already phrased for the supervisor: file, line, key, what to do."""

    def __init__(self, path: Path, message: str, *, line: int | None = None, key: str | None = None) -> None:
        self.path = path
        self.line = line
        self.key = key
        where = str(path)
        if line is not None:
            where += f", line {line}"
        if key:
            where += f", key '{sanitize(key)}'"
        super().__init__(f"config error in {where}: {sanitize(message)}")


@dataclass(frozen=True)
class Profile:
    name: str
    account_id: str | None = None
    base_url: str | None = None
    ops_group: str | None = None
    refresh: float | None = None
    #: The open set's window: dispatched and summarizing orders are looked for among the orders
    #: created within this many hours (0: the whole history). None: the client's default.
    open_set_window_hours: float | None = None
    bulk_concurrency: int | None = None
    #: Seconds a sent request may still be in flight (console/bulk/engine.py); None: the default.
    settle_window: float | None = None
    theme: str | None = None
    read_only: bool = False
    #: Badge colours: "default" or "colorblind" (console/settings.py PALETTES).
    palette: str | None = None
    #: An ETA moving later by at least this many minutes is a change (console/session/changes.py).
    eta_slip_minutes: float | None = None
    #: Terminal notifications (console/notify.py); None: off unless the command line asks.
    notify: bool | None = None
    #: What notifies: console.notify.NOTIFY_KINDS; None: the default (new red).
    notify_kinds: tuple[str, ...] | None = None
    secret_key: Secret | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Config:
    path: Path | None
    profiles: dict[str, Profile]
    default_profile: str | None = None
    #: ``[keymap]``: binding id -> keys ("x" or "x,ctrl+x"), for App.set_keymap. Checked for
    #: syntax here; :func:`check_keymap` checks the ids against the console's bindings.
    keymap: dict[str, str] = field(default_factory=dict)
    #: The line of each keymap entry, for messages.
    keymap_lines: dict[str, int | None] = field(default_factory=dict, repr=False)

    def profile(self, name: str | None) -> Profile | None:
        """The named profile, the default one, or None when there is no config at all."""
        chosen = name or self.default_profile
        if chosen is None:
            return None
        if chosen not in self.profiles:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise ConfigError(
                self.path or Path("(no config file)"),
                f"no profile named '{sanitize(chosen)}' (profiles: {known})",
            )
        return self.profiles[chosen]


def default_config_path() -> Path:
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME)) / "config.toml"


_FIELDS: dict[str, type | tuple[type, ...]] = {
    "account_id": str,
    "base_url": str,
    "ops_group": str,
    "refresh": (int, float),
    "open_set_window_hours": (int, float),
    "bulk_concurrency": int,
    "settle_window": (int, float),
    "theme": str,
    "read_only": bool,
    "palette": str,
    "secret_key": str,
    "eta_slip_minutes": (int, float),
    "notify": bool,
    "notify_kinds": list,
}

PALETTES = ("default", "colorblind")  # the same as console.settings.PALETTES (no UI import here)

#: One key of a keymap entry: a single character ("?", "x", "G") or a Textual key name with
#: modifiers ("ctrl+x", "question_mark", "f5", "shift+tab").
_KEY_NAME = re.compile(r"(?:[^\s,]|[a-z][a-z0-9_]*(?:\+[A-Za-z0-9_]+)*)")


def load_config(path: Path | None = None) -> Config:
    """Read and check the config file. A missing file is an empty config, not an error
    (unless it was named explicitly by the environment variable)."""
    explicit = path is not None or bool(os.environ.get(CONFIG_ENV))
    path = path or default_config_path()
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(path, "the file does not exist") from None
        return Config(path=None, profiles={})
    except OSError as exc:
        raise ConfigError(path, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, f"not UTF-8 text (byte {exc.start})") from None
    import tomllib  # only when there is a file to read (most starts have none)

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _line_from_toml_error(str(exc))
        raise ConfigError(path, f"not valid TOML: {str(exc).split(' (at')[0]}", line=line) from None

    locate = _Locator(text)
    unknown_top = [k for k in data if k not in ("default_profile", "profiles", "keymap")]
    if unknown_top:
        key = unknown_top[0]
        raise ConfigError(path, "unknown setting (expected 'default_profile', [profiles.NAME] or [keymap])",
                          line=locate.key(None, key), key=key)
    keymap, keymap_lines = _read_keymap(path, data.get("keymap", {}), locate)
    default = data.get("default_profile")
    if default is not None and not isinstance(default, str):
        raise ConfigError(path, "must be a profile name in quotes", line=locate.key(None, "default_profile"),
                          key="default_profile")
    profiles_raw = data.get("profiles", {})
    if not isinstance(profiles_raw, dict):
        raise ConfigError(path, "must be a table of profiles", line=locate.key(None, "profiles"), key="profiles")

    profiles: dict[str, Profile] = {}
    holds_secret = False
    for name, body in profiles_raw.items():
        section = f"profiles.{name}"
        if not isinstance(body, dict):
            raise ConfigError(path, "a profile must be a table", line=locate.section(section), key=section)
        values: dict[str, Any] = {}
        for key, value in body.items():
            full = f"{section}.{key}"
            if key not in _FIELDS:
                raise ConfigError(path, f"unknown key (known: {', '.join(_FIELDS)})",
                                  line=locate.key(section, key), key=full)
            expected = _FIELDS[key]
            if isinstance(value, bool) and expected is not bool:
                ok = False
            else:
                ok = isinstance(value, expected)
            if not ok:
                kind = {str: "text in quotes", bool: "true or false", int: "a whole number",
                        list: 'a list of words in quotes, e.g. ["new-red", "late"]'}.get(
                    expected if isinstance(expected, type) else float, "a number")
                raise ConfigError(path, f"must be {kind}", line=locate.key(section, key), key=full)
            values[key] = value
        problem = _check_values(values)
        if problem:
            key, message = problem
            raise ConfigError(path, message, line=locate.key(section, key), key=f"{section}.{key}")
        if "notify_kinds" in values:
            values["notify_kinds"] = tuple(values["notify_kinds"])
        if "secret_key" in values:
            holds_secret = True
            values["secret_key"] = Secret(values["secret_key"])
        profiles[name] = Profile(name=name, **values)
    if default is not None and default not in profiles:
        raise ConfigError(path, f"names a profile that does not exist ('{sanitize(default)}')",
                          line=locate.key(None, "default_profile"), key="default_profile")
    if holds_secret:
        check_private_file(path)
    return Config(path=path, profiles=profiles, default_profile=default, keymap=keymap,
                  keymap_lines=keymap_lines)


def _read_keymap(path: Path, raw: Any, locate: "_Locator") -> tuple[dict[str, str], dict[str, int | None]]:
    """``[keymap]`` as {binding id: keys}. An unquoted dotted id (``view.filter = "f"``) is a
    nested table in TOML: it is flattened back to its dotted id."""
    if not isinstance(raw, dict):
        raise ConfigError(path, "must be a table: [keymap] then lines like \"order.complete\" = \"x\"",
                          line=locate.key(None, "keymap"), key="keymap")
    keymap: dict[str, str] = {}
    lines: dict[str, int | None] = {}

    def walk(table: dict[str, Any], prefix: str) -> None:
        for name, value in table.items():
            binding_id = f"{prefix}{name}"
            if isinstance(value, dict):
                walk(value, f"{binding_id}.")
                continue
            line = locate.key("keymap", binding_id)
            if line is None and "." in binding_id:
                section, _, last = binding_id.rpartition(".")
                line = locate.key(f"keymap.{section}", last)
            full = f"keymap.{binding_id}"
            if not isinstance(value, str):
                raise ConfigError(path, 'must be keys in quotes, e.g. "x" or "x,ctrl+x"', line=line, key=full)
            keys = [k.strip() for k in value.split(",")]
            bad = next((k for k in keys if not k or _KEY_NAME.fullmatch(k) is None), None)
            if bad is not None:
                shown = f"'{sanitize(bad)}'" if bad else "an empty key"
                raise ConfigError(path, f"{shown} is not a key (a character like x or ?, or a name "
                                  "like ctrl+x, f5, question_mark; several separated by commas)",
                                  line=line, key=full)
            keymap[binding_id] = ",".join(keys)
            lines[binding_id] = line

    walk(raw, "")
    return keymap, lines


def check_keymap(config: Config, known_ids: set[str]) -> None:
    """Refuse a ``[keymap]`` entry whose binding id the console does not have (a typo would
    otherwise be silently ignored)."""
    for binding_id in config.keymap:
        if binding_id not in known_ids:
            import difflib

            close = difflib.get_close_matches(binding_id, sorted(known_ids), n=3, cutoff=0.6)
            hint = (f" (did you mean {', '.join(close)}?)" if close
                    else " (the command palette, ctrl+p, shows each action's id)")
            raise ConfigError(config.path or Path("(no config file)"), f"no key binding has this id{hint}",
                              line=config.keymap_lines.get(binding_id), key=f"keymap.{binding_id}")


def _check_values(values: dict[str, Any]) -> tuple[str, str] | None:
    refresh = values.get("refresh")
    if refresh is not None and not (1 <= refresh <= 3600):
        return "refresh", "must be between 1 and 3600 seconds"
    window = values.get("open_set_window_hours")
    if window is not None and not (window == 0 or 1 <= window <= MAX_OPEN_SET_WINDOW_HOURS):
        return "open_set_window_hours", (f"must be 0 (no window: the whole history) or between 1 "
                                         f"and {MAX_OPEN_SET_WINDOW_HOURS} hours")
    concurrency = values.get("bulk_concurrency")
    if concurrency is not None and not (1 <= concurrency <= MAX_CONCURRENCY):
        return "bulk_concurrency", f"must be between 1 and {MAX_CONCURRENCY}"
    window = values.get("settle_window")
    if window is not None and not (0 <= window <= MAX_SETTLE_WINDOW):
        return "settle_window", f"must be between 0 and {MAX_SETTLE_WINDOW} seconds"
    slip = values.get("eta_slip_minutes")
    if slip is not None and not (0 < slip <= MAX_ETA_SLIP_MINUTES):
        return "eta_slip_minutes", f"must be more than 0 and at most {MAX_ETA_SLIP_MINUTES} minutes"
    kinds = values.get("notify_kinds")
    if kinds is not None:
        from console.notify import NOTIFY_KINDS

        if not kinds or any(not isinstance(k, str) or k not in NOTIFY_KINDS for k in kinds):
            return "notify_kinds", f"must be a list of: {', '.join(NOTIFY_KINDS)}"
    palette = values.get("palette")
    if palette is not None and palette not in PALETTES:
        return "palette", f"must be one of: {', '.join(PALETTES)}"
    base_url = values.get("base_url")
    if base_url is not None:
        from console.api.client import check_base_url
        from console.api.errors import InvalidRequest

        try:
            check_base_url(base_url)
        except InvalidRequest as exc:
            return "base_url", exc.message
    return None


def check_private_file(path: Path) -> None:
    """Refuse a secret-holding file that others could read or that someone else owns."""
    st = path.stat()
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise ConfigError(path, "holds a secret but is owned by another user; refusing to use it")
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise ConfigError(
            path,
            f"holds a secret but is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
            f"run: chmod 600 {path}",
        )


def _line_from_toml_error(message: str) -> int | None:
    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else None


_BARE_KEY = re.compile(r"[A-Za-z0-9_\-]+")
_BASIC_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"')
_LITERAL_KEY = re.compile(r"'([^']*)'")
_BLANK = re.compile(r"[ \t]*")


def _toml_key_at(text: str, pos: int) -> tuple[tuple[str, ...], int] | None:
    """The (dotted) TOML key that starts at ``text[pos]``, as its parts, and where it ends.

    Each part is bare (``refresh``), a basic string (``"order.complete"``, escapes decoded) or a
    literal string (``'day shift'``); parts are joined by dots, with blanks allowed around them.
    """
    import tomllib  # as in load_config: only when a problem is being reported

    parts: list[str] = []
    while True:
        pos = _BLANK.match(text, pos).end()  # type: ignore[union-attr]
        if m := _BASIC_KEY.match(text, pos):
            try:
                part = tomllib.loads(f"k = {m.group(0)}")["k"]
            except tomllib.TOMLDecodeError:
                return None
        elif m := _LITERAL_KEY.match(text, pos):
            part = m.group(1)
        elif m := _BARE_KEY.match(text, pos):
            part = m.group(0)
        else:
            return None
        parts.append(part)
        pos = _BLANK.match(text, m.end()).end()  # type: ignore[union-attr]
        if not text.startswith(".", pos):
            return tuple(parts), pos
        pos += 1


class _Locator:
    """Finds the line of a key in the TOML text, for messages (tomllib keeps no positions).

    Keys and table headers are read as TOML spells them (bare, quoted or dotted), and compared
    by their parts joined with dots: ``[keymap]`` + ``"order.complete" = "x"`` is found as
    ``keymap.order.complete``, and so is ``[keymap.order]`` + ``complete = "x"``.
    """

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    @staticmethod
    def _header(line: str) -> tuple[str, ...] | None:
        stripped = line.lstrip()
        if not stripped.startswith("[") or stripped.startswith("[["):
            return None
        found = _toml_key_at(stripped, 1)
        if found is None or not stripped.startswith("]", found[1]):
            return None
        return found[0]

    @staticmethod
    def _key(line: str) -> tuple[str, ...] | None:
        found = _toml_key_at(line, 0)
        if found is None or not line.startswith("=", found[1]):
            return None
        return found[0]

    def section(self, name: str) -> int | None:
        for number, line in enumerate(self.lines, 1):
            header = self._header(line)
            if header is not None and ".".join(header) == name:
                return number
        return None

    def key(self, section: str | None, key: str) -> int | None:
        wanted = f"{section}.{key}" if section else key
        current: tuple[str, ...] = ()
        for number, line in enumerate(self.lines, 1):
            header = self._header(line)
            if header is not None:
                current = header
                continue
            parts = self._key(line)
            if parts is not None and ".".join(current + parts) == wanted:
                return number
        return None


def store_secret_in_file(path: Path, profile: str, secret: Secret) -> None:
    """Write ``secret_key`` into a profile of the config file, at mode 0600.

    Only called when the supervisor explicitly asks for a file (no keyring on this machine).
    The file is created 0600 (even under a permissive umask) and an existing file is made 0600
    before the secret is written into it.
    """
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", profile):
        raise ConfigError(path, f"profile names may use letters, digits, '-' and '_' only: {profile!r}")
    value = secret.get_secret_value()
    if any(c in value for c in '"\\\n\r') or not value.isprintable():
        raise ConfigError(path, "the secret contains characters that cannot be stored in the file")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "r+", encoding="utf-8") as handle:
            fd = -1
            lines = handle.read().splitlines()
            header = f"[profiles.{profile}]"
            out: list[str] = []
            in_section = False
            written = False
            for line in lines:
                stripped = line.strip()
                if stripped.startswith("["):
                    if in_section and not written:
                        out.append(f'secret_key = "{value}"')
                        written = True
                    in_section = stripped == header
                if in_section and re.match(r"\s*secret_key\s*=", line):
                    continue  # replaced below
                out.append(line)
                if stripped == header and not written:
                    out.append(f'secret_key = "{value}"')
                    written = True
            if not written:
                out.extend(["", header, f'secret_key = "{value}"'])
            handle.seek(0)
            handle.truncate()
            handle.write("\n".join(out) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        if fd != -1:
            os.close(fd)
    load_config(path)  # re-check: the file must still be a valid config
