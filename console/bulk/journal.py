"""The durable write-ahead journal of bulk completions (SQLite, WAL, fsync before every send).

Why it exists: ``POST /orders/{h}/complete`` has no idempotency key. If the process, the SSH
session or the machine dies while a request is out, only a record written *before* the request
tells the next start which orders may have been completed. So every POST is preceded by a
committed INTENT and followed by a committed OUTCOME; an intent without an outcome is an order
in doubt, settled by a GET before anything is sent again.

Guarantees this module gives:

- The file (and its ``-wal``/``-shm`` companions, and the lock file) are mode 0600 even under
  ``umask 000``: the file is created with ``os.open(..., 0o600)`` before SQLite touches it.
- One writer at a time: an exclusive, non-blocking ``flock`` on ``<journal>.lock``. A second
  instance gets :class:`JournalLocked`, naming the PID and start time of the holder. The lock is
  released by the kernel when its holder dies, so a stale lock cannot block anyone.
- A durable write (the default; every INTENT, the runs and their ops) is fsynced when the call
  returns: it is committed with ``synchronous=FULL``, which in WAL mode syncs the WAL file after
  the commit. A POST is only ever sent after its intent returned, so power loss or an OS crash
  can never hide a request that went out.
- An OUTCOME (``record_outcome``, unless ``durable=True``) is committed with
  ``synchronous=NORMAL``: committed, visible to every reader and kept by a process crash (SQLite
  has written its WAL frames; the kernel holds them), but not fsynced by its own commit. That is
  safe because losing it loses nothing: the op falls back to its committed intent (``sending``),
  which start-up reconciliation settles by GET before anything is sent again (checklist F25-F27),
  exactly as when the process dies between the POST and its outcome. It becomes durable with
  the next durable commit (the WAL is one append-only file: syncing it syncs every frame before;
  recovery keeps a prefix of the commits, never a later one without an earlier one), i.e. the
  next intent, the end of the run (``finish_run``), :meth:`Journal.sync` or :meth:`Journal.close`.
  Why: an fsync here costs a median 0.5 ms but a p90 of 4-5 ms, and it sat on each worker's
  path between two POSTs; only the intent has to pay it.
- Every failure to write raises :class:`JournalWriteError`: the caller must not send the POST.
- Every opening (writer and reader) first checks the file (:data:`INTEGRITY_CHECK`; ~25-35 ms at
  10,000 ops, ``scripts/bench_journal_check.py``). A damaged file raises :class:`JournalDamaged`
  before anything is written to it, and so before anything is sent; :func:`move_aside` renames
  it, kept, so that the next run starts a new journal.
- The embedded sandbox has a journal of its own beside the real accounts' one
  (:func:`journal_path_for`); within a file, the engine's queries are keyed by account and server.
- Stored: account id and base-URL host (never a secret), order identity, the action and its
  parameters (worker, time, reason: JSON, escaped), states, HTTP status, the API's message
  (sanitized, truncated), request id, ``completed_at``. The states name no action (``applied``:
  the action took effect, whichever it was); :func:`state_text` says them in the op's action's
  words ("cancelled", "already disabled") wherever they are shown.

Thread safety: one connection, guarded by a lock, usable from the engine's writer thread and
the event loop's thread alike.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shlex
import sqlite3
import stat
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from console.api.vocab import OrderRef
from console.api.sanitize import sanitize

JOURNAL_ENV = "DISPATCH_CONSOLE_JOURNAL"
APP_NAME = "dispatch-console"
JOURNAL_FILENAME = "journal.sqlite3"
#: 2: every op records its action (``action``) and the action's parameters (``params``, JSON).
#: 3: the states of an action that took effect name no action (``applied`` ...), see :data:`RENAMED_STATES`.
SCHEMA_VERSION = 3
#: The action of ops a version-1 journal recorded: complete was the only one then.
V1_ACTION = "complete"
MAX_MESSAGE_CHARS = 500
MAX_REQUEST_ID_CHARS = 128

# ----------------------------------------------------------------------------- op states
#: Queued in a run and not sent yet (or withdrawn before sending: paused, throttled).
PENDING = "pending"
#: The intent is committed and the POST may be on the wire. Seen at start-up: the process died.
SENDING = "sending"
IN_DOUBT = "in_doubt"
#: The action took effect: its answer showed the action's end state.
APPLIED = "applied"
#: The answer was lost (or never recorded); reading the order back showed the end state.
APPLIED_RECONCILED = "applied_reconciled"
#: The order was already in the action's end state before the request (look-up, 409, read-back).
ALREADY_APPLIED = "already_applied"
NOT_FOUND = "not_found"
REJECTED = "rejected"
CONFLICT = "conflict"
FAILED_NOT_SENT = "failed_not_sent"
AUTH_FAILED = "auth_failed"
STOPPED = "stopped"
#: Never sent: the run stopped for another reason than the operator (auth, budget, ...).
NOT_SENT = "not_sent"
#: Read back after its settle window: the request did not take effect; safe to send again.
NOT_APPLIED = "not_applied"

SUCCESS_STATES = frozenset({APPLIED, APPLIED_RECONCILED, ALREADY_APPLIED})
#: Settled for good: a new run for the same order makes a new op.
CLOSED_STATES = SUCCESS_STATES | {NOT_FOUND, REJECTED, CONFLICT}
#: Must be settled by GET before anything is sent for the order again.
UNSETTLED_STATES = frozenset({SENDING, IN_DOUBT})
#: An op a later run takes over (same op id, attempts keep counting).
REUSABLE_STATES = frozenset({PENDING, STOPPED, NOT_SENT, NOT_APPLIED, FAILED_NOT_SENT, AUTH_FAILED}) | UNSETTLED_STATES
ALL_STATES = CLOSED_STATES | REUSABLE_STATES
#: What schema versions 1 and 2 stored for the success states (the complete action's words, for
#: every action): renamed by the migration to version 3, and read as renamed from an older file.
RENAMED_STATES = {"completed": APPLIED, "completed_reconciled": APPLIED_RECONCILED,
                  "already_completed": ALREADY_APPLIED}


def state_text(state: str, action: str | None) -> str:
    """``state`` in the words of the op's ``action``, for people: ``applied`` of a cancel is
    "cancelled", ``already_applied`` of a disable "already disabled", ``applied_reconciled``
    "cancelled (reconciled)". Other states name no action and are shown as stored."""
    from console.bulk.actions import KINDS

    kind = KINDS.get(action or V1_ACTION)
    done = kind.done if kind is not None else f"applied ({sanitize(str(action))})"
    if state == APPLIED:
        return done
    if state == APPLIED_RECONCILED:
        return f"{done} (reconciled)"
    if state == ALREADY_APPLIED:
        return f"already {done}"
    return state


class JournalError(Exception):
    """Base of the journal's errors. Messages are safe to print."""


class JournalLocked(JournalError):
    """Another process holds the journal."""

    def __init__(self, path: Path, holder: dict[str, Any]) -> None:
        self.path = path
        self.holder_pid = holder.get("pid")
        self.holder_started_at = holder.get("started_at")
        who = f"process {self.holder_pid}" if self.holder_pid else "another process"
        since = f", started {self.holder_started_at}" if self.holder_started_at else ""
        super().__init__(
            f"the journal {path} is in use by {who}{since}; only one bulk run at a time "
            "(wait for it to finish, or stop it)"
        )


class JournalWriteError(JournalError):
    """A record could not be made durable (disk full, read-only file system, I/O error)."""


class JournalUnsafe(JournalError):
    """The journal file is not ours to use (another owner, a symlink, not a regular file)."""


class JournalDamaged(JournalError):
    """The journal file failed SQLite's integrity check (or is not a database at all).

    Nothing may be sent with it: the orders it holds in doubt cannot be trusted to be all of
    them. The message names the file and the command that moves it aside, keeping it.
    """

    def __init__(self, path: Path, detail: str) -> None:
        self.path = path
        self.detail = detail
        shown = sanitize(os.path.abspath(path))  # the command it names works from any directory
        super().__init__(
            f"the journal {shown} is damaged ({detail}). Move it aside (the file is kept, renamed) and "
            f"start a new one with: dispatch-console journal --move-aside --journal {shlex.quote(shown)}"
        )


@dataclass(frozen=True)
class OpRecord:
    """One op as stored: the life of one order's completion."""

    op_id: str
    run_id: str
    last_run_id: str | None
    account_id: str
    base_host: str
    order_handle: str
    type: str | None
    type_index: int | None
    fulfillment_attempt: int | None
    state: str
    attempts: int
    created_at: str
    updated_at: str
    intent_at: str | None
    outcome_at: str | None
    http_status: int | None
    message: str | None
    request_id: str | None
    completed_at: str | None
    #: What was (to be) sent: an action name of console.bulk.actions.
    action: str = V1_ACTION
    #: The action's parameters (worker, time, reason) as canonical JSON text; None: none.
    params: str | None = None

    @property
    def ref(self) -> OrderRef:
        return OrderRef(self.order_handle, self.type, self.type_index, self.fulfillment_attempt)

    @property
    def params_dict(self) -> dict[str, Any]:
        """The parameters as a dict ({} when none or unreadable)."""
        try:
            value = json.loads(self.params) if self.params else {}
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    @property
    def state_text(self) -> str:
        """The state in this op's action's words (:func:`state_text`)."""
        return state_text(self.state, self.action)

    def to_json(self) -> dict[str, Any]:
        # order_handle stays byte-exact: json.dumps escapes control characters itself.
        data = asdict(self)
        data["params"] = self.params_dict
        data["state_text"] = self.state_text
        return data


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    started_at: str
    finished_at: str | None
    account_id: str
    base_host: str
    order_count: int
    stop_reason: str | None
    pid: int | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


#: Statements to run inside a journal transaction (a prepared write).
Write = Callable[[sqlite3.Connection], Any]


class _Pending:
    """One write waiting for a group commit."""

    __slots__ = ("statements", "durable", "result", "error", "done")

    def __init__(self, statements: Callable[[sqlite3.Connection], Any], durable: bool) -> None:
        self.statements = statements
        self.durable = durable
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False


def default_journal_path() -> Path:
    """``$DISPATCH_CONSOLE_JOURNAL``, else ``journal.sqlite3`` in the platform data directory."""
    env = os.environ.get(JOURNAL_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME)) / JOURNAL_FILENAME


#: Inserted before the suffix of the journal's name for runs against the embedded sandbox.
SANDBOX_MARK = "-sandbox"


def sandbox_journal_path(path: Path) -> Path:
    """The sandbox's journal beside ``path``: ``journal.sqlite3`` -> ``journal-sandbox.sqlite3``."""
    return path.with_name(f"{path.stem}{SANDBOX_MARK}{path.suffix}")


def journal_path_for(*, sandbox: bool, explicit: str | os.PathLike[str] | None = None) -> Path:
    """The journal of a target. ``explicit`` (``--journal PATH``, the settings' path) is used as
    given, whatever the target. Otherwise ``$DISPATCH_CONSOLE_JOURNAL`` or the platform data
    directory's ``journal.sqlite3`` is the journal of real accounts, and runs against the
    embedded sandbox go to the file beside it with ``-sandbox`` before the suffix, so that
    practice runs never mix with a real account's."""
    if explicit:
        return Path(explicit).expanduser()
    base = default_journal_path()
    return sandbox_journal_path(base) if sandbox else base


def base_host(base_url: str) -> str:
    """The host (and port) of a base URL: what the journal records of the server."""
    return urlsplit(base_url).netloc or base_url


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def format_time(dt: datetime) -> str:
    """Sortable UTC text with microseconds: string order is time order."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def clean_message(message: str | None) -> str | None:
    if message is None:
        return None
    text = sanitize(message)
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1] + "…"
    return text


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    account_id TEXT NOT NULL,
    base_host TEXT NOT NULL,
    order_count INTEGER NOT NULL,
    stop_reason TEXT,
    pid INTEGER
);
CREATE TABLE IF NOT EXISTS ops (
    op_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    last_run_id TEXT,
    account_id TEXT NOT NULL,
    base_host TEXT NOT NULL,
    order_handle TEXT NOT NULL,
    type TEXT,
    type_index INTEGER,
    fulfillment_attempt INTEGER,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    intent_at TEXT,
    outcome_at TEXT,
    http_status INTEGER,
    message TEXT,
    request_id TEXT,
    completed_at TEXT,
    action TEXT NOT NULL DEFAULT 'complete',
    params TEXT
);
CREATE INDEX IF NOT EXISTS ops_by_order ON ops(account_id, base_host, order_handle);
CREATE INDEX IF NOT EXISTS ops_by_state ON ops(state);
CREATE INDEX IF NOT EXISTS ops_by_update ON ops(updated_at);
CREATE TABLE IF NOT EXISTS op_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id TEXT NOT NULL,
    run_id TEXT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT,
    attempt INTEGER,
    http_status INTEGER,
    message TEXT,
    request_id TEXT
);
CREATE INDEX IF NOT EXISTS op_events_by_op ON op_events(op_id);
"""

_OP_COLUMNS = (
    "op_id, run_id, last_run_id, account_id, base_host, order_handle, type, type_index, "
    "fulfillment_attempt, state, attempts, created_at, updated_at, intent_at, outcome_at, "
    "http_status, message, request_id, completed_at, action, params"
)
#: A version-1 or 2 file's state read under its current name (:data:`RENAMED_STATES`).
_OLD_STATE = ("CASE state " + " ".join(f"WHEN '{old}' THEN '{new}'" for old, new in RENAMED_STATES.items())
              + " ELSE state END")
#: The same columns read from a version-2 file (the states under their current names).
_OP_COLUMNS_V2 = _OP_COLUMNS.replace(", state,", f", {_OLD_STATE} AS state,")
#: ... and from a version-1 file (no action, no parameters: complete).
_OP_COLUMNS_V1 = _OP_COLUMNS_V2.replace("action, params", f"'{V1_ACTION}' AS action, NULL AS params")


def _stored_version(conn: sqlite3.Connection) -> int:
    """The schema version a file's ``meta`` names (1 when it names none or nothing readable)."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 1
    except (sqlite3.Error, ValueError, TypeError):
        return 1


def _rename_states(conn: sqlite3.Connection) -> None:
    """Version 2 -> 3: the success states, of ops and of their events, under their current names."""
    for old, new in RENAMED_STATES.items():
        conn.execute("UPDATE ops SET state = ? WHERE state = ?", (new, old))
        conn.execute("UPDATE op_events SET state = ? WHERE state = ?", (new, old))


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring an older journal to :data:`SCHEMA_VERSION`, in one transaction (all or nothing).

    Version 1 -> 2: ``ops`` gains ``action`` (every existing op was a complete) and ``params``.
    Version 2 -> 3: :func:`_rename_states`."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(ops)")}
    if "action" in columns and _stored_version(conn) >= SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        if "action" not in columns:
            conn.execute(f"ALTER TABLE ops ADD COLUMN action TEXT NOT NULL DEFAULT '{V1_ACTION}'")
            conn.execute("ALTER TABLE ops ADD COLUMN params TEXT")
        _rename_states(conn)
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
_RUN_COLUMNS = "run_id, started_at, finished_at, account_id, base_host, order_count, stop_reason, pid"


def _secure_create(path: Path) -> None:
    """Create ``path`` as a 0600 regular file we own, or fix/refuse an existing one.

    ``os.open`` with mode 0o600 is not widened by any umask; an existing file that is wider is
    narrowed, and one owned by someone else (or a symlink) is refused.
    """
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise JournalUnsafe(f"{path} is a symbolic link; refusing to use it") from None
        raise JournalWriteError(f"cannot create {path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise JournalUnsafe(f"{path} is not a regular file")
        if st.st_uid != os.getuid():
            raise JournalUnsafe(f"{path} belongs to another user (uid {st.st_uid}); refusing to use it")
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _narrow_mode(path: Path) -> None:
    """chmod 0600 a companion file (``-wal``, ``-shm``) if it exists and is wider."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) & 0o077 and st.st_uid == os.getuid():
        os.chmod(path, 0o600)


#: SQLite's result codes for a damaged file: SQLITE_CORRUPT and SQLITE_NOTADB (primary codes).
_DAMAGE_CODES = (11, 26)
#: What an opening runs to check the file. ``quick_check`` reads every page and checks each
#: b-tree's structure and records (it skips only the comparison of indexes with their tables,
#: which ``integrity_check`` adds); ``(1)``: stop at the first problem.
INTEGRITY_CHECK = "PRAGMA quick_check(1)"


def _is_damage(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _DAMAGE_CODES
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def _damage_detail(text: str) -> str:
    """One short, printable line out of SQLite's report."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("***")]
    detail = sanitize(lines[0] if lines else text)
    return detail if len(detail) <= 160 else detail[:159] + "…"


def check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    """Raise :class:`JournalDamaged` unless ``conn``'s database passes :data:`INTEGRITY_CHECK`."""
    try:
        rows = conn.execute(INTEGRITY_CHECK).fetchall()
    except sqlite3.Error as exc:
        if _is_damage(exc):
            raise JournalDamaged(path, _damage_detail(str(exc))) from None
        raise
    if [tuple(r) for r in rows] != [("ok",)]:
        report = "\n".join(str(r[0]) for r in rows)
        raise JournalDamaged(path, "integrity check: " + _damage_detail(report))


def move_aside(path: str | os.PathLike[str], *, now: Callable[[], datetime] = utc_now,
               require_damaged: bool = False) -> list[Path]:
    """Rename the journal and its ``-wal``/``-shm`` companions to ``<name>.damaged-<UTC time>``
    (and ``...-wal``, ``...-shm``: SQLite can still open the kept copy), so that the next run
    starts a new journal. Returns the new paths, the main file first.

    Holds the journal's lock while it moves: refused with :class:`JournalLocked` while another
    process uses the journal. The files keep their mode (0600, narrowed if wider).
    ``require_damaged``: refuse (:class:`JournalError`) a journal that passes its integrity
    check: moving a healthy journal aside would forget the orders it holds in doubt.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise JournalError(f"there is no journal at {sanitize(str(path))}: nothing to move")
    holder = Journal(path, now=now)
    holder._acquire_lock()
    try:
        if not path.exists():
            raise JournalError(f"there is no journal at {sanitize(str(path))}: nothing to move")
        if require_damaged:
            try:
                with JournalReader(path) as reader:
                    reader.list_runs()
            except JournalDamaged:
                pass
            else:
                raise JournalError(
                    f"the journal {sanitize(str(path))} is not damaged (it passes its integrity check); "
                    "it is left where it is: moving it aside would forget the orders it holds in doubt"
                )
        stamp = now().astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        target = path.with_name(f"{path.name}.damaged-{stamp}")
        n = 1
        while any(Path(str(target) + s).exists() for s in ("", "-wal", "-shm")):
            n += 1
            target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
        moved: list[Path] = []
        for suffix in ("", "-wal", "-shm"):
            source = Path(str(path) + suffix)
            if not (source.exists() or source.is_symlink()):
                continue
            dest = Path(str(target) + suffix)
            try:
                os.rename(source, dest)
            except OSError as exc:
                raise JournalWriteError(f"cannot move {sanitize(str(source))} aside: {exc.strerror}") from None
            _narrow_mode(dest)
            moved.append(dest)
        return moved
    finally:
        holder._release_lock()


class Journal:
    """The journal file, opened for writing with the single-writer lock held.

    Use as a context manager, or call :meth:`open` and :meth:`close`.
    """

    #: The op columns as this file holds them (a reader of an older file: the V1 or V2 list).
    _op_columns = _OP_COLUMNS
    #: The expression of an op's (or an event's) state under its current name.
    _state_expr = "state"

    def __init__(self, path: str | os.PathLike[str] | None = None, *, now: Callable[[], datetime] = utc_now) -> None:
        self.path = Path(path) if path is not None else default_journal_path()
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._now = now
        self._conn: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._mutex = threading.RLock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []
        #: The connection's ``PRAGMA synchronous`` as last set (2 FULL, 1 NORMAL).
        self._sync_mode = 2
        #: Commits made with NORMAL since the last durable one: not fsynced yet.
        self._unsynced_commits = 0

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r}, open={self._conn is not None})"

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> "Journal":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    def open(self) -> "Journal":
        if self._conn is not None:
            return self
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalWriteError(f"cannot create the journal directory {self.path.parent}: {exc.strerror}") from None
        self._acquire_lock()
        try:
            _secure_create(self.path)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=5.0)
            try:
                # Before anything is written to it: a damaged file is left exactly as it is.
                check_integrity(conn, self.path)
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise JournalWriteError(f"the journal could not switch to WAL mode (got {mode!r})")
                conn.execute("PRAGMA synchronous=FULL")
                self._sync_mode = 2
                self._unsynced_commits = 0
                conn.execute("PRAGMA foreign_keys=ON")
                if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'ops'").fetchone():
                    _migrate(conn)
                conn.executescript(_SCHEMA)
                conn.execute(
                    "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            except BaseException:
                conn.close()
                raise
            self._conn = conn
            self._narrow_companions()
        except sqlite3.Error as exc:
            self._release_lock()
            if _is_damage(exc):
                raise JournalDamaged(self.path, _damage_detail(str(exc))) from None
            raise JournalWriteError(f"cannot open the journal {self.path}: {sanitize(str(exc))}") from None
        except BaseException:
            self._release_lock()
            raise
        return self

    def close(self) -> None:
        """Make every commit durable (:meth:`sync`), then close and release the lock."""
        with self._mutex:
            if self._conn is not None:
                try:
                    self.sync()
                except JournalError:
                    # Outcomes not fsynced may be lost by a power cut; their intents are not,
                    # and the next start settles those by GET. Closing must still happen.
                    pass
                try:
                    self._conn.close()
                finally:
                    self._conn = None
            self._release_lock()

    def _narrow_companions(self) -> None:
        # SQLite gives -wal/-shm the main file's permissions; checked anyway because a file left
        # by an older version or another tool might be wider.
        for suffix in ("-wal", "-shm"):
            _narrow_mode(self.path.with_name(self.path.name + suffix))

    def _acquire_lock(self) -> None:
        _secure_create(self.lock_path)
        fd = os.open(self.lock_path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder: dict[str, Any] = {}
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                try:
                    raw = os.pread(fd, 4096, 0)
                    parsed = json.loads(raw.decode("utf-8", "replace") or "{}")
                    if isinstance(parsed, dict):
                        holder = {k: sanitize(str(v)) for k, v in parsed.items() if k in ("pid", "started_at")}
                except (OSError, ValueError):
                    pass
                os.close(fd)
                raise JournalLocked(self.path, holder) from None
            os.close(fd)
            raise JournalWriteError(f"cannot lock the journal {self.lock_path}: {exc.strerror}") from None
        info = json.dumps({"pid": os.getpid(), "started_at": format_time(self._now())}).encode()
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, info, 0)
            os.fsync(fd)
        except OSError:
            pass  # the lock is what matters; the holder's details are a courtesy
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            finally:
                os.close(self._lock_fd)
                self._lock_fd = None

    # ------------------------------------------------------------------ writing

    def _write(self, statements: Callable[[sqlite3.Connection], Any], *, durable: bool = True) -> Any:
        """Run ``statements`` in a committed transaction; on return committed (and, if
        ``durable``, fsynced), else raise.

        Group commit: writers from several threads queue their statements; whoever holds the
        connection next commits everything queued in ONE transaction (one fsync), each write in
        its own savepoint so one failing write does not undo the others. Every caller still
        returns only after its own write is committed. Under load (a slow, shared disk: 4-10 ms
        per fsync) this is what keeps N concurrent workers from queueing behind N fsyncs. A
        batch is fsynced if any write in it asked for durability.
        """
        entry: _Pending = _Pending(statements, durable)
        with self._queue_lock:
            self._queue.append(entry)
        with self._mutex:
            if not entry.done:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._commit_batch(batch)
        if entry.error is not None:
            raise entry.error
        return entry.result

    def _set_sync_mode(self, conn: sqlite3.Connection, mode: int) -> None:
        """Switch ``PRAGMA synchronous`` (outside a transaction: it applies to the next commits)."""
        if self._sync_mode != mode:
            conn.execute("PRAGMA synchronous=FULL" if mode == 2 else "PRAGMA synchronous=NORMAL")
            self._sync_mode = mode

    def _commit_batch(self, batch: list["_Pending"]) -> None:
        conn = self._conn
        durable = any(entry.durable for entry in batch)
        try:
            if conn is None:
                raise JournalWriteError("the journal is not open")
            try:
                # FULL syncs the WAL after this commit, and with it every NORMAL commit before.
                self._set_sync_mode(conn, 2 if durable else 1)
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for index, entry in enumerate(batch):
                        conn.execute(f"SAVEPOINT w{index}")
                        try:
                            entry.result = entry.statements(conn)
                        except Exception as exc:
                            conn.execute(f"ROLLBACK TO w{index}")
                            entry.error = exc
                        conn.execute(f"RELEASE w{index}")
                    conn.execute("COMMIT")
                    self._unsynced_commits = 0 if durable else self._unsynced_commits + 1
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise JournalWriteError(f"the journal could not be written: {sanitize(str(exc))}") from None
            except OSError as exc:
                raise JournalWriteError(f"the journal could not be written: {exc.strerror or exc}") from None
        except JournalError as exc:
            for entry in batch:
                entry.error, entry.result = exc, None
        finally:
            for entry in batch:
                if isinstance(entry.error, sqlite3.Error):
                    entry.error = JournalWriteError(f"the journal could not be written: {sanitize(str(entry.error))}")
                entry.done = True

    @property
    def unsynced_commits(self) -> int:
        """Commits made since the last fsync (outcomes): what a power cut could still undo."""
        return self._unsynced_commits

    def sync(self) -> None:
        """Make every commit so far durable: one FULL commit if any NORMAL commit is not synced.

        The commit writes a real row (``meta.synced_at``): a transaction that changes nothing
        writes no WAL frame, so SQLite would not sync anything for it.
        """
        with self._mutex:
            if self._conn is None or self._unsynced_commits == 0:
                return
        now = format_time(self._now())
        self._write(lambda conn: conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('synced_at', ?)", (now,)
        ))

    def start_run(self, *, account_id: str | None, base_url: str, count: int) -> str:
        run_id = uuid.uuid4().hex
        now = format_time(self._now())

        def go(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT INTO runs({_RUN_COLUMNS}) VALUES (?, ?, NULL, ?, ?, ?, NULL, ?)",
                (run_id, now, account_id or "", base_host(base_url), count, os.getpid()),
            )

        self._write(go)
        self._narrow_companions()
        return run_id

    def finish_run(self, run_id: str, *, stop_reason: str | None = None) -> None:
        now = format_time(self._now())
        self._write(
            lambda conn: conn.execute(
                "UPDATE runs SET finished_at = ?, stop_reason = ? WHERE run_id = ?", (now, stop_reason, run_id)
            )
        )

    def close_interrupted_runs(self) -> int:
        """Mark runs that never finished as ``interrupted``. Only call with the lock held: then
        no live process owns them."""
        now = format_time(self._now())
        return self._write(
            lambda conn: conn.execute(
                "UPDATE runs SET finished_at = ?, stop_reason = 'interrupted' WHERE finished_at IS NULL", (now,)
            ).rowcount
        )

    def add_ops(
        self, run_id: str, refs: Sequence[OrderRef], *, account_id: str | None, base_url: str,
        reuse: dict[OrderRef, str] | None = None,
        actions: Sequence[tuple[str, str | None]] | None = None,
    ) -> list[str]:
        """Record ``refs`` as the ops of ``run_id`` (state pending), in one transaction.

        ``reuse`` maps a ref to the op id of an earlier, unfinished op for the same order: that
        op joins this run under the same id (its attempts keep counting); the caller reuses
        only an op recorded with the same action and parameters, which it keeps.
        ``actions``: for each ref, the action's name and parameters (JSON text, or None);
        complete without parameters when not given.
        """
        if actions is not None and len(actions) != len(refs):
            raise ValueError("one action per ref")
        kinds = list(actions) if actions is not None else [(V1_ACTION, None)] * len(refs)
        now = format_time(self._now())
        host = base_host(base_url)
        account = account_id or ""
        reuse = reuse or {}
        op_ids = [reuse.get(ref) or uuid.uuid4().hex for ref in refs]

        def go(conn: sqlite3.Connection) -> None:
            for ref, op_id, (action, params) in zip(refs, op_ids, kinds):
                if ref in reuse:
                    # Back to pending, except an op still in doubt: that must stay visibly
                    # unsettled until a GET settles it, whatever happens to this run.
                    conn.execute(
                        "UPDATE ops SET last_run_id = ?, updated_at = ?, "
                        "state = CASE WHEN state IN (?, ?) THEN state ELSE ? END WHERE op_id = ?",
                        (run_id, now, SENDING, IN_DOUBT, PENDING, op_id),
                    )
                    self._event(conn, op_id, run_id, now, "joined", None, None, None, None, None)
                    continue
                conn.execute(
                    f"INSERT INTO ops({_OP_COLUMNS}) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, NULL, NULL, NULL, NULL, NULL, NULL, ?, ?)",
                    (op_id, run_id, run_id, account, host, ref.order_handle, ref.type, ref.type_index,
                     ref.fulfillment_attempt, PENDING, now, now, action, params),
                )

        self._write(go)
        return op_ids

    def record_intent(self, op_id: str, run_id: str | None = None, *, also: "Write | None" = None) -> int:
        """Commit "about to POST" for ``op_id`` (fsynced); returns the attempt number. Raises on
        failure: then the POST must not be sent.

        ``also``: an outcome prepared by :meth:`outcome_write` (the worker's previous order),
        committed in the same transaction, before the intent: the engine's worker pays one
        commit per order instead of two, and the number of intents without an outcome never
        grows (one op leaves ``sending`` as the next enters it, atomically). If either write
        fails, neither is committed."""
        now = format_time(self._now())

        def go(conn: sqlite3.Connection) -> int:
            if also is not None:
                also(conn)
            cur = conn.execute(
                "UPDATE ops SET state = ?, attempts = attempts + 1, intent_at = ?, updated_at = ? "
                "WHERE op_id = ? RETURNING attempts",
                (SENDING, now, now, op_id),
            )
            row = cur.fetchone()
            if row is None:
                raise JournalWriteError(f"no op {op_id} in the journal")
            self._event(conn, op_id, run_id, now, "intent", SENDING, row[0], None, None, None)
            return int(row[0])

        return self._write(go)

    def record_outcome(
        self, op_id: str, state: str, *, run_id: str | None = None, http_status: int | None = None,
        message: str | None = None, request_id: str | None = None, completed_at: datetime | str | None = None,
        kind: str = "outcome", withdraw_intent: bool = False, durable: bool = False,
        also: "Write | None" = None,
    ) -> None:
        """Commit what happened to ``op_id`` (after a POST, a reconciling GET, or a stop).

        Committed (visible, kept by a process crash) on return, but not fsynced unless
        ``durable``: see the module docstring for why losing it to a power cut is safe (the op
        falls back to its intent, settled by GET) and when it becomes durable anyway.

        ``withdraw_intent``: the intent just committed was not acted on (the run paused or
        stopped before the POST went out), so it does not count as an attempt.
        ``also``: another prepared outcome committed in the same transaction, first.
        """
        go = self.outcome_write(op_id, state, run_id=run_id, http_status=http_status, message=message,
                                request_id=request_id, completed_at=completed_at, kind=kind,
                                withdraw_intent=withdraw_intent)
        if also is not None:
            first, then = also, go

            def go(conn: sqlite3.Connection) -> None:
                first(conn)
                then(conn)

        self._write(go, durable=durable)

    def commit_outcome(self, write: "Write") -> None:
        """Commit an outcome prepared by :meth:`outcome_write` (committed, not fsynced)."""
        self._write(write, durable=False)

    def outcome_write(
        self, op_id: str, state: str, *, run_id: str | None = None, http_status: int | None = None,
        message: str | None = None, request_id: str | None = None, completed_at: datetime | str | None = None,
        kind: str = "outcome", withdraw_intent: bool = False,
    ) -> "Write":
        """The statements of :meth:`record_outcome`, prepared now (time stamped now) and committed
        later: by :meth:`commit_outcome`, or along with the next intent (``record_intent(also=)``)."""
        if state not in ALL_STATES:
            raise ValueError(f"unknown op state {state!r}")
        now = format_time(self._now())
        msg = clean_message(message)
        rid = sanitize(request_id)[:MAX_REQUEST_ID_CHARS] if request_id else None
        done_at = format_time(completed_at) if isinstance(completed_at, datetime) else completed_at

        def go(conn: sqlite3.Connection) -> None:
            cur = conn.execute(
                "UPDATE ops SET state = ?, outcome_at = ?, updated_at = ?, http_status = ?, message = ?, "
                "request_id = ?, completed_at = COALESCE(?, completed_at), attempts = attempts - ? "
                "WHERE op_id = ?",
                (state, now, now, http_status, msg, rid, done_at, 1 if withdraw_intent else 0, op_id),
            )
            if cur.rowcount != 1:
                raise JournalWriteError(f"no op {op_id} in the journal")
            self._event(conn, op_id, run_id, now, "withdrawn" if withdraw_intent else kind, state, None,
                        http_status, msg, rid)

        return go

    @staticmethod
    def _event(conn: sqlite3.Connection, op_id: str, run_id: str | None, at: str, kind: str, state: str | None,
               attempt: int | None, http_status: int | None, message: str | None, request_id: str | None) -> None:
        conn.execute(
            "INSERT INTO op_events(op_id, run_id, at, kind, state, attempt, http_status, message, request_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (op_id, run_id, at, kind, state, attempt, http_status, message, request_id),
        )

    # ------------------------------------------------------------------ reading

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._mutex:
            conn = self._conn
            if conn is None:
                raise JournalError("the journal is not open")
            try:
                return conn.execute(sql, tuple(params)).fetchall()
            except sqlite3.Error as exc:
                if _is_damage(exc):
                    raise JournalDamaged(self.path, _damage_detail(str(exc))) from None
                raise JournalError(f"the journal could not be read: {sanitize(str(exc))}") from None

    def op(self, op_id: str) -> OpRecord | None:
        rows = self._read(f"SELECT {self._op_columns} FROM ops WHERE op_id = ?", (op_id,))
        return OpRecord(*rows[0]) if rows else None

    def pending_intents(self, account_id: str | None = None, base_url: str | None = None) -> list[OpRecord]:
        """Ops whose intent was committed and whose outcome never was: the process died mid-flight."""
        return self._ops_in_states((SENDING,), account_id, base_url)

    def unsettled(self, account_id: str | None = None, base_url: str | None = None) -> list[OpRecord]:
        """Ops that must be settled by a GET before their order is sent again (intent without an
        outcome, or an outcome that stayed in doubt)."""
        return self._ops_in_states(tuple(UNSETTLED_STATES), account_id, base_url)

    def open_ops(self, account_id: str | None = None, base_url: str | None = None,
                 states: Iterable[str] = (PENDING, SENDING, IN_DOUBT)) -> list[OpRecord]:
        """Ops an interrupted run left unfinished (by default: never sent, or unsettled)."""
        return self._ops_in_states(tuple(states), account_id, base_url)

    def _ops_in_states(self, states: tuple[str, ...], account_id: str | None, base_url: str | None) -> list[OpRecord]:
        sql = f"SELECT {self._op_columns} FROM ops WHERE {self._state_expr} IN ({','.join('?' * len(states))})"
        params: list[Any] = list(states)
        if account_id is not None:
            sql += " AND account_id = ?"
            params.append(account_id)
        if base_url is not None:
            sql += " AND base_host = ?"
            params.append(base_host(base_url))
        sql += " ORDER BY created_at, rowid"
        return [OpRecord(*row) for row in self._read(sql, params)]

    def latest_op_for(self, ref: OrderRef, *, account_id: str | None, base_url: str) -> OpRecord | None:
        """The most recent op for exactly this order identity on this account and server."""
        rows = self._read(
            f"SELECT {self._op_columns} FROM ops WHERE account_id = ? AND base_host = ? AND order_handle = ? "
            "AND type IS ? AND type_index IS ? AND fulfillment_attempt IS ? "
            "ORDER BY updated_at DESC, rowid DESC LIMIT 1",
            (account_id or "", base_host(base_url), ref.order_handle, ref.type, ref.type_index,
             ref.fulfillment_attempt),
        )
        return OpRecord(*rows[0]) if rows else None

    def has_success_for(self, ref: OrderRef, *, account_id: str | None, base_url: str,
                        action: str | None = None) -> bool:
        """True when any op for exactly this order identity (of ``action``, when given) ended
        in success, i.e. the action took effect (in any run)."""
        rows = self._read(
            "SELECT 1 FROM ops WHERE account_id = ? AND base_host = ? AND order_handle = ? "
            f"AND type IS ? AND type_index IS ? AND fulfillment_attempt IS ? "
            f"AND {self._state_expr} IN ({','.join('?' * len(SUCCESS_STATES))})"
            + (" AND " + ("action" if self._op_columns is not _OP_COLUMNS_V1 else f"'{V1_ACTION}'") + " = ?"
               if action is not None else "") + " LIMIT 1",
            (account_id or "", base_host(base_url), ref.order_handle, ref.type, ref.type_index,
             ref.fulfillment_attempt, *sorted(SUCCESS_STATES), *((action,) if action is not None else ())),
        )
        return bool(rows)

    def list_ops(self, *, since: datetime | None = None, account_id: str | None = None,
                 base_url: str | None = None, limit: int | None = None) -> list[OpRecord]:
        """Ops updated since ``since``, of one account and/or one server if given, oldest first."""
        sql = f"SELECT {self._op_columns} FROM ops"
        where: list[str] = []
        params: list[Any] = []
        if since is not None:
            where.append("updated_at >= ?")
            params.append(format_time(since))
        _for_target(where, params, account_id, base_url)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY updated_at, rowid"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [OpRecord(*row) for row in self._read(sql, params)]

    def list_runs(self, *, since: datetime | None = None, account_id: str | None = None,
                  base_url: str | None = None) -> list[RunRecord]:
        """Runs active since ``since``, of one account and/or one server if given, oldest first."""
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"
        where: list[str] = []
        params: list[Any] = []
        if since is not None:
            where.append("COALESCE(finished_at, started_at) >= ?")
            params.append(format_time(since))
        _for_target(where, params, account_id, base_url)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at"
        return [RunRecord(*row) for row in self._read(sql, params)]

    def op_events(self, op_id: str) -> list[dict[str, Any]]:
        rows = self._read(
            f"SELECT seq, op_id, run_id, at, kind, {self._state_expr}, attempt, http_status, message, request_id "
            "FROM op_events WHERE op_id = ? ORDER BY seq", (op_id,),
        )
        keys = ("seq", "op_id", "run_id", "at", "kind", "state", "attempt", "http_status", "message", "request_id")
        return [dict(zip(keys, row)) for row in rows]


def _for_target(where: list[str], params: list[Any], account_id: str | None, base_url: str | None) -> None:
    """Add the conditions that keep one account's and/or one server's rows."""
    if account_id is not None:
        where.append("account_id = ?")
        params.append(account_id)
    if base_url is not None:
        where.append("base_host = ?")
        params.append(base_host(base_url))


class JournalReader(Journal):
    """Read-only access for ``dispatch-console journal``: no lock, so it works while a run goes on.

    A missing journal reads as empty (nothing has been run yet).
    """

    def open(self) -> "JournalReader":
        if self._conn is not None:
            return self
        if not self.path.exists():
            return self
        try:
            self._conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                check_same_thread=False, timeout=5.0,
            )
            check_integrity(self._conn, self.path)
            self._conn.execute("SELECT 1 FROM ops LIMIT 1").fetchall()
            # Read-only: an older file is read as if migrated (the next writer migrates it).
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(ops)")}
            if "action" not in columns:
                self._op_columns, self._state_expr = _OP_COLUMNS_V1, _OLD_STATE
            elif _stored_version(self._conn) < SCHEMA_VERSION:
                self._op_columns, self._state_expr = _OP_COLUMNS_V2, _OLD_STATE
        except (sqlite3.Error, JournalDamaged) as exc:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if isinstance(exc, JournalDamaged):
                raise
            if _is_damage(exc):
                raise JournalDamaged(self.path, _damage_detail(str(exc))) from None
            raise JournalError(f"cannot read the journal {self.path}: {sanitize(str(exc))}") from None
        return self

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        if self._conn is None:
            return []
        return super()._read(sql, params)

    def _write(self, statements: Callable[[sqlite3.Connection], Any], *, durable: bool = True) -> Any:
        raise JournalWriteError("the journal was opened read-only")
