"""The console's export of its current view to a CSV file (no Textual: the UI gives it rows).

- **What**: the rows as the list shows them (filter applied, in its sort order), one order a line,
  with the cells of ``orders --csv`` (:mod:`console.csv_cells`, CSV-injection guard included) and
  one more column, ``marked`` (``yes`` or empty).
- **Where**: the path the supervisor typed. Empty: ``dispatch-orders-<UTC time>.csv`` in the
  current directory; a directory: that name inside it; ``~`` is the home directory; a relative
  path is taken from the current directory.
- **Never overwrites**: the file is created exclusively; an existing file is an error.
- **Errors** are :class:`ExportError` with a sentence for the supervisor (no traceback): a missing
  folder, a folder that cannot be written, a path that is a file's child, an existing file. A
  half-written file (the disk filled up) is removed.
"""

from __future__ import annotations

import csv
import errno
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from console.api.sanitize import sanitize
from console.csv_cells import CSV_HEADER, neutralise, order_cells

#: The export's header: the headless CSV's, then whether the order is marked in the console.
EXPORT_HEADER = (*CSV_HEADER, "marked")


class ExportRow(Protocol):
    """What the export reads of a list row (console.session.table.OrderRow has it)."""

    ref: Any
    key: Any
    status: str
    worst: Any
    levels: Any
    worker: str | None
    worker_name: str | None
    ops_group: str | None
    scheduled_at: datetime | None
    eta: datetime | None
    address: str | None


class ExportError(Exception):
    """The export could not be written; ``str()`` says why, for a supervisor."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    marked: int


def default_name(now: datetime) -> str:
    """``dispatch-orders-20261207T051500Z.csv``: the UTC time, sortable, no colon (Windows)."""
    return f"dispatch-orders-{now.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}.csv"


def resolve(text: str, *, now: datetime, cwd: Path | None = None) -> Path:
    """The file the typed ``text`` names (see the module doc), absolute."""
    base = Path.cwd() if cwd is None else cwd
    text = text.strip()
    if not text:
        return base / default_name(now)
    if "\x00" in text:
        raise ExportError("The path holds a NUL character; type another.")
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = base / path
    if path.is_dir():
        path = path / default_name(now)
    return path


def row_cells(row: ExportRow, marked: bool) -> list[str]:
    return [*order_cells(
        ref=row.ref, status=row.status, worst=row.worst, levels=row.levels, worker=row.worker,
        worker_name=row.worker_name, ops_group=row.ops_group, scheduled_at=row.scheduled_at,
        eta=row.eta, address=row.address,
    ), neutralise("yes" if marked else "")]


def write_csv(path: Path, rows: Iterable[ExportRow], is_marked: Callable[[Any], bool]) -> ExportResult:
    """Write ``rows`` (in order) to a new file at ``path``; UTF-8, one order a line."""
    shown = sanitize(str(path))
    count = marked = 0
    try:
        handle = open(path, "x", encoding="utf-8", newline="")
    except FileExistsError:
        raise ExportError(f"{shown} already exists; nothing was written. Type another name.") from None
    except FileNotFoundError:
        raise ExportError(f"The folder {sanitize(str(path.parent))} does not exist; nothing was written.") from None
    except NotADirectoryError:
        raise ExportError(f"{shown}: a part of this path is a file, not a folder; nothing was written.") from None
    except IsADirectoryError:
        raise ExportError(f"{shown} is a folder; type a file name.") from None
    except PermissionError:
        raise ExportError(f"Cannot write in {sanitize(str(path.parent))}: permission denied. "
                          "Choose another folder.") from None
    except OSError as exc:
        raise ExportError(f"Cannot write {shown}: {_reason(exc)}.") from None
    try:
        with handle:
            writer = csv.writer(handle, lineterminator="\r\n")  # as csv_line quotes, one writer
            writer.writerow(EXPORT_HEADER)
            for row in rows:
                mark = bool(is_marked(row.key))
                writer.writerow(row_cells(row, mark))
                count += 1
                marked += mark
    except BaseException as exc:  # a full disk, a cancelled export, a bug: no partial file stays
        try:
            path.unlink()
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise ExportError(f"Writing {shown} failed ({_reason(exc)}); the partial file was removed.") from None
        raise
    return ExportResult(path, count, marked)


def _reason(exc: OSError) -> str:
    if exc.errno is not None and exc.errno in errno.errorcode:
        return os.strerror(exc.errno).lower()
    return type(exc).__name__
