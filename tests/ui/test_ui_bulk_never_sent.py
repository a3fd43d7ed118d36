"""What the console's start-up says of the orders an interrupted run never sent: each in the words
of the action its op was recorded with (a cancel is "not cancelled", never "not completed"), so
that the supervisor knows which action to send again."""

from __future__ import annotations

from pathlib import Path

from console.api.models import OrderRef
from console.bulk.actions import COMPLETE, Cancel, Reassign
from console.bulk.journal import Journal
from console.bulk.results import NEVER_SENT, ResultStatus
from console.ui.bulk_run import _never_sent
from tests.support.fake_hypertrack import ACCOUNT, BASE_URL


def test_never_sent_orders_are_described_by_their_own_action(tmp_path: Path) -> None:
    refs = [OrderRef("c"), OrderRef("r"), OrderRef("k"), OrderRef("t")]
    kinds = [(a.name, a.params_json()) for a in (Cancel(reason="dup"), Reassign("w-2"), COMPLETE)]
    with Journal(tmp_path / "journal.sqlite3") as journal:
        run = journal.start_run(account_id=ACCOUNT, base_url=BASE_URL, count=4)
        journal.add_ops(run, refs, account_id=ACCOUNT, base_url=BASE_URL, actions=[*kinds, ("teleport", None)])
        # The run never finished: its process died before sending any of them.
        results = {r.ref.order_handle: r for r in _never_sent(journal, ACCOUNT, BASE_URL)}
    assert set(results) == {"c", "r", "k", "t"}
    assert {(r.status, r.earlier) for r in results.values()} == {(ResultStatus.NOT_SENT, NEVER_SENT)}
    assert results["c"].message == ("an earlier run was interrupted before sending this cancel (dup); "
                                    "the order was not cancelled by it")
    assert results["r"].message == ("an earlier run was interrupted before sending this reassign to w-2; "
                                    "the order was not reassigned by it")
    assert results["k"].message == ("an earlier run was interrupted before sending this complete; "
                                    "the order was not completed by it")
    assert "teleport" in results["t"].message and "nothing was sent for it" in results["t"].message
    assert not any("completed" in results[h].message for h in "crt")
