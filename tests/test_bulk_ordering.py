"""The engine's ordering guarantees checked against what is committed (read back through a
second, read-only connection: it sees only committed data): no POST before its intent is
durable, no result reported before its outcome is; and the heap it freezes for a run."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from console.api.models import OrderRef
from console.bulk.engine import BulkEngine
from console.bulk.journal import Journal, JournalWriteError
from console.bulk.results import ResultStatus as R
from console.bulk.results import StopReason
from tests.test_bulk_fakeserver import FakeHyperTrack, check_invariants, journal_rows

@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


@pytest.fixture
def journal(journal_path: Path):
    with Journal(journal_path) as j:
        yield j


def committed(path: Path) -> dict[str, dict]:
    """The ops as another process would see them now: committed rows only."""
    return {row["op_id"]: row for row in journal_rows(path)}


def make_engine(fake: FakeHyperTrack, journal: Journal, **options) -> BulkEngine:
    options.setdefault("sleep", fake.clock.sleep)
    options.setdefault("clock", fake.clock)
    options.setdefault("rng", random.Random(7))
    return BulkEngine(fake.client(), journal, **options)


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_every_post_follows_its_committed_intent_and_every_report_its_committed_outcome(
    journal, journal_path, concurrency
) -> None:
    names = [f"o{i}" for i in range(24)]
    fake = FakeHyperTrack(names)
    problems: list[str] = []

    def on_post(handle: str) -> None:
        (row,) = [r for r in journal_rows(journal_path) if r["order_handle"] == handle]
        if row["state"] != "sending" or row["attempts"] < 1:
            problems.append(f"POST {handle} with the journal at {row['state']}")

    def on_event(event) -> None:
        if event.kind == "result":
            row = committed(journal_path)[event.result.op_id]
            if row["state"] != event.result.status.value:
                problems.append(f"{event.result.ref.order_handle} reported with the journal at {row['state']}")

    fake.on_post = on_post
    report = await make_engine(fake, journal, concurrency=concurrency).run(
        [OrderRef(h) for h in names], on_event=on_event
    )
    assert problems == []
    assert report.counts()[R.COMPLETED] == 24
    check_invariants(fake, journal_path, names, results=report.results)


# ---------------------------------------------------------------------- the heap during a run


@pytest.mark.parametrize("freeze", [True, False])
async def test_a_run_keeps_the_heap_it_found_out_of_full_collections(journal, freeze) -> None:
    import gc

    fake = FakeHyperTrack(["a", "b"])
    gc.unfreeze()
    try:
        before = [object.__new__(type("Alive", (), {}))]  # a tracked object alive at the start
        report = await make_engine(fake, journal, freeze_heap=freeze).run([OrderRef("a"), OrderRef("b")])
        assert report.counts()[R.COMPLETED] == 2
        tracked = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
        # Frozen objects are in no generation: a full collection does not walk them.
        assert (id(before[0]) in tracked) is not freeze
        assert (gc.get_freeze_count() > 0) is freeze
    finally:
        gc.unfreeze()
