"""Tests of the stateful fake HyperTrack (tests/support/fake_hypertrack.py) and of its invariant checks."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from console.api.client import OrdersClient
from console.api.credentials import Credentials
from tests.support.fake_hypertrack import ACCOUNT, BASE_URL, FakeHyperTrack, Req, check_invariants


# ---------------------------------------------------------------------- tests of the fake


async def test_fake_applies_then_drops_the_response() -> None:
    fake = FakeHyperTrack(["a", "b"])
    fake.post_faults["a"] = ["drop_after_apply"]
    async with fake.client() as client:
        from console.api.errors import ConflictError, OutcomeInDoubt

        with pytest.raises(OutcomeInDoubt):
            await client.complete_order("a")
        assert fake.orders["a"]["status"] == "completed"
        with pytest.raises(ConflictError):
            await client.complete_order("a")
    assert fake.effective["a"] == 1
    assert [r.outcome for r in fake.posts("a")] == ["drop_after_apply", "409"]


async def test_fake_refuses_wrong_credentials() -> None:
    fake = FakeHyperTrack(["a"])
    from console.api.errors import AuthenticationError

    client = OrdersClient(Credentials(ACCOUNT, SecretStr("wrong")), base_url=BASE_URL,
                          transport=httpx.MockTransport(fake.handler))
    async with client:
        with pytest.raises(AuthenticationError):
            await client.get_order("a")
    assert fake.orders["a"]["status"] == "ongoing"


def test_invariant_check_catches_a_blind_repost(tmp_path: Path) -> None:
    """The I2 check must fail when a POST hits a completed order with no GET in between."""
    fake = FakeHyperTrack(["a"])
    fake.log.append(Req(0, "POST", "a", "complete", "200"))
    fake.log.append(Req(1, "POST", "a", "complete", "409", completed_before=True))
    from console.bulk.journal import Journal

    with Journal(tmp_path / "j.sqlite3"):
        pass
    with pytest.raises(AssertionError, match="without a reconciling GET"):
        check_invariants(fake, tmp_path / "j.sqlite3", ["a"])


def test_invariant_check_lets_a_retry_follow_a_post_that_never_connected(tmp_path: Path) -> None:
    """GET, then a POST refused at connect (nothing reached the server), then its retry: the
    GET still stands before the retry. Without that GET, the retry is still caught."""
    from console.bulk.journal import Journal

    with Journal(tmp_path / "j.sqlite3"):
        pass
    fake = FakeHyperTrack(["a"])
    fake.log.append(Req(0, "POST", "a", "complete", "200"))
    fake.log.append(Req(1, "GET", "a", None, "200", completed_before=True))
    fake.log.append(Req(2, "POST", "a", "complete", "connect", completed_before=True))
    fake.log.append(Req(3, "POST", "a", "complete", "409", completed_before=True))
    check_invariants(fake, tmp_path / "j.sqlite3", ["a"])
    del fake.log[1]
    with pytest.raises(AssertionError, match="without a reconciling GET"):
        check_invariants(fake, tmp_path / "j.sqlite3", ["a"])
