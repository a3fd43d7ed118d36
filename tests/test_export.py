"""console/export.py: the console's CSV export of its view, without the UI (files in tmp_path)."""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import pytest

from console.api.summaries import OrderSummary
from console.api.vocab import OrderRef
from console.csv_cells import CSV_HEADER
from console.export import EXPORT_HEADER, ExportError, default_name, resolve, write_csv
from console.orders_command import csv_cells
from console.session.table import OrderRow

NOW = datetime(2026, 12, 7, 5, 15, 0, tzinfo=timezone.utc)


def _summary(handle: str, **fields) -> OrderSummary:
    fields.setdefault("risks", {"schedule_risk": "red", "eta_risk": "yellow"})
    return OrderSummary(OrderRef(handle, "drop", 0, None), fields.pop("status", "ongoing"), **fields)


def _read(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_default_name_is_the_utc_time_without_colons() -> None:
    assert default_name(NOW) == "dispatch-orders-20261207T051500Z.csv"


def test_resolve_empty_relative_home_and_folder(tmp_path: Path) -> None:
    assert resolve("", now=NOW, cwd=tmp_path) == tmp_path / "dispatch-orders-20261207T051500Z.csv"
    assert resolve("  out.csv ", now=NOW, cwd=tmp_path) == tmp_path / "out.csv"
    assert resolve(str(tmp_path), now=NOW, cwd=Path("/")) == tmp_path / default_name(NOW)
    assert resolve("~/x.csv", now=NOW, cwd=tmp_path) == Path.home() / "x.csv"
    with pytest.raises(ExportError, match="NUL"):
        resolve("a\x00b", now=NOW, cwd=tmp_path)


def test_rows_in_order_with_the_headless_cells_a_marked_column_and_no_formula(tmp_path: Path) -> None:
    hostile = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tTab", "\rCR"]
    summaries = [
        _summary("ORD-1", worker=hostile[0], worker_name=hostile[1], ops_group=hostile[2], address=hostile[3],
                 scheduled_at=NOW, eta=NOW),
        _summary("=cmd|' /C calc'!A0", worker=hostile[4], address=hostile[5], risks=None, status="assigned"),
        _summary("ORD-3"),
    ]
    rows = [OrderRow(s) for s in summaries]
    marked = {rows[1].key}
    result = write_csv(tmp_path / "view.csv", rows, marked.__contains__)
    assert (result.rows, result.marked, result.path) == (3, 1, tmp_path / "view.csv")
    lines = _read(tmp_path / "view.csv")
    assert tuple(lines[0]) == EXPORT_HEADER == (*CSV_HEADER, "marked")
    # The same cells as `orders --csv`, one function for both, in the view's order.
    assert [line[:-1] for line in lines[1:]] == [csv_cells(s) for s in summaries]
    assert [line[-1] for line in lines[1:]] == ["", "yes", ""]
    for line in lines[1:]:
        for cell in line:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert lines[1][CSV_HEADER.index("worker_handle")] == "'" + hostile[0]
    assert lines[2][0] == "'=cmd|' /C calc'!A0"
    assert lines[1][CSV_HEADER.index("worst_risk")] == "red"


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "taken.csv"
    target.write_text("keep me")
    with pytest.raises(ExportError, match="already exists"):
        write_csv(target, [], lambda key: False)
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("make, words", [
    (lambda tmp: tmp / "missing" / "x.csv", "does not exist"),
    (lambda tmp: tmp / "file.txt" / "x.csv", "is a file, not a folder"),
])
def test_bad_paths_say_why(tmp_path: Path, make, words: str) -> None:
    (tmp_path / "file.txt").write_text("")
    with pytest.raises(ExportError, match=words):
        write_csv(make(tmp_path), [], lambda key: False)


def test_an_unwritable_folder_says_permission_denied(tmp_path: Path) -> None:
    # /sys refuses new files even to root (a chmod'ed folder would not stop root).
    if not Path("/sys").is_dir():
        pytest.skip("no /sys here")
    with pytest.raises(ExportError, match="Cannot write in /sys: permission denied"):
        write_csv(Path("/sys/x.csv"), [], lambda key: False)


def test_a_link_at_the_path_is_not_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    target = tmp_path / "view.csv"
    target.symlink_to(victim)
    with pytest.raises(ExportError, match="already exists"):
        write_csv(target, [OrderRow(_summary("ORD-1"))], lambda key: False)
    assert victim.read_text() == "keep me"
