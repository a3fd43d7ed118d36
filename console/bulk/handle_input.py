"""Reading order handles for ``dispatch-console complete``: from arguments, a file, or stdin.

Every handle is validated before anything is sent, and every problem is reported with where it
came from (``file:line``), escaped. Nothing is trimmed or normalised: the handle that is checked
is the handle that is sent. A CRLF line ending, a byte-order mark, a blank line or stray spaces
are errors with a line number, not something silently fixed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from console.api.errors import InvalidHandle
from console.api.handles import describe_handle, validate_handle

#: More than this many handles in one run is refused (memory stays bounded; split the file).
MAX_HANDLES = 100_000
#: How many problems are printed before "... and N more".
MAX_PROBLEMS_SHOWN = 20


@dataclass(frozen=True)
class SourcedHandle:
    handle: str
    source: str  # "argument 3", "orders.txt:12", "<stdin>:4"


@dataclass
class HandleInput:
    handles: list[SourcedHandle]
    problems: list[str]
    duplicates: list[tuple[SourcedHandle, SourcedHandle]]  # (repeat, first seen)
    near_duplicates: list[tuple[SourcedHandle, SourcedHandle]]

    @property
    def unique(self) -> list[SourcedHandle]:
        return self.handles


def read_lines(data: bytes, source: str) -> tuple[list[SourcedHandle], list[str]]:
    """Split file or stdin bytes into handles; a final newline ends the last line."""
    handles: list[SourcedHandle] = []
    problems: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        problems.append(f"{source}:1: the file starts with a byte-order mark (BOM); save it as UTF-8 without BOM")
        data = data[3:]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        where = f"{source}:{number}"
        if raw.endswith(b"\r"):
            problems.append(f"{where}: the line ends with a carriage return (a Windows CRLF line ending); "
                            "convert the file to LF line endings")
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"{where}: not valid UTF-8")
            continue
        handles.append(SourcedHandle(text, where))
        if len(handles) > MAX_HANDLES:
            problems.append(f"{source}: more than {MAX_HANDLES} handles; split the file")
            break
    return handles, problems


def validate_all(candidates: Iterable[SourcedHandle]) -> HandleInput:
    """Validate every handle (collecting every problem), then drop exact duplicates."""
    problems: list[str] = []
    valid: list[SourcedHandle] = []
    for item in candidates:
        try:
            validate_handle(item.handle)
        except InvalidHandle as exc:
            problems.append(f"{item.source}: {exc.message}")
            continue
        valid.append(item)
    first_seen: dict[str, SourcedHandle] = {}
    folded_seen: dict[str, SourcedHandle] = {}
    unique: list[SourcedHandle] = []
    duplicates: list[tuple[SourcedHandle, SourcedHandle]] = []
    near: list[tuple[SourcedHandle, SourcedHandle]] = []
    for item in valid:
        if item.handle in first_seen:
            duplicates.append((item, first_seen[item.handle]))
            continue
        first_seen[item.handle] = item
        unique.append(item)
        # Different strings that look alike (case, NFC vs NFD, full-width forms) are kept (they
        # may be different orders) but warned about.
        folded = unicodedata.normalize("NFKC", item.handle).casefold()
        if folded in folded_seen:
            near.append((item, folded_seen[folded]))
        else:
            folded_seen[folded] = item
    return HandleInput(unique, problems, duplicates, near)


def describe_problems(problems: list[str]) -> list[str]:
    shown = problems[:MAX_PROBLEMS_SHOWN]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        shown.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more")
    return shown


def show(handle: str) -> str:
    """A handle as a message may show it: escaped, shortened, quoted."""
    return f"'{describe_handle(handle)}'"
