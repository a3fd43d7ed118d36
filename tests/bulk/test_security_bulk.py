"""Malformed and hostile answers through the bulk engine: never a false "completed".

Each order's POST gets one malformed 2xx (HTML, empty, truncated, another handle, duplicate
keys, not completed, NaN, nesting 5,000 deep, over the size cap, wrong types) while a GET shows
the order still open. The engine must settle by GET and never record a completion the server
did not make: no success result, no "completed" state in the journal, at most ``max_sends``
POSTs per order. Error text from the server (hostile) reaches results and journal escaped.
A control order gets a valid answer and is completed, so the checks can fail.
"""

from __future__ import annotations

import json
import random
from urllib.parse import unquote

import httpx
from pydantic import SecretStr

from console.api import Credentials, OrdersClient
from console.api.models import OrderRef
from console.api.retry import Backoff
from console.bulk.engine import BulkEngine
from console.bulk.journal import SUCCESS_STATES, Journal
from console.bulk.results import ResultStatus
from tests.support.hostile import COMBINED, FAKE_ACCOUNT, FAKE_SECRET, assert_no_raw_controls, find_leaks

DEEP = b'{"a":' * 5000 + b"1" + b"}" * 5000


def _json(handle: str, **fields) -> bytes:
    return json.dumps({"order_handle": handle, **fields}).encode()


MALFORMED = {
    "html": lambda h: (200, b"<html><body>OK \x1b[2J</body></html>", "text/html"),
    "empty": lambda h: (200, b"", "application/json"),
    "truncated": lambda h: (200, _json(h, status="completed")[:-8], "application/json"),
    "other_handle": lambda h: (200, _json("someone-else", status="completed"), "application/json"),
    "duplicate_keys": lambda h: (200, b'{"order_handle": "someone-else", ' + _json(h, status="completed")[1:],
                                 "application/json"),
    "not_completed": lambda h: (200, _json(h, status="ongoing"), "application/json"),
    "unknown_status": lambda h: (200, _json(h, status="completed\x1b[2J"), "application/json"),
    "nan": lambda h: (200, _json(h, status="completed")[:-1] + b', "distance": NaN}', "application/json"),
    "deep": lambda h: (200, _json(h, status="completed")[:-1] + b', "metadata": ' + DEEP + b"}", "application/json"),
    "too_big": lambda h: (200, _json(h, status="completed", pad="x" * 300_000), "application/json"),
    "wrong_types": lambda h: (200, json.dumps({"order_handle": [h], "status": True}).encode(), "application/json"),
    "201_html": lambda h: (201, b"<html>created?</html>", "text/html"),
}
HOSTILE_REJECTIONS = {
    "422": lambda h: (422, json.dumps({"message": COMBINED, "detail": {"query": {COMBINED: [COMBINED]}}}).encode(),
                      "application/json"),
    "404": lambda h: (404, json.dumps({"message": COMBINED}).encode(), "application/json"),
}


class FakeAPI:
    """POST answers by handle; a GET always shows the order still open (status 'assigned')."""

    def __init__(self) -> None:
        self.answers = {f"m-{name}": answer for name, answer in {**MALFORMED, **HOSTILE_REJECTIONS}.items()}
        self.posts: dict[str, int] = {}
        self.completed: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.raw_path.decode().split("?")[0].split("/")
        handle = unquote(parts[2])
        if request.method == "GET":
            status = "completed" if handle in self.completed else "assigned"
            return httpx.Response(200, content=_json(handle, status=status, type="drop", type_index=0,
                                                     fulfillment_attempt=0))
        self.posts[handle] = self.posts.get(handle, 0) + 1
        if handle in self.answers:
            status, body, ctype = self.answers[handle](handle)
            return httpx.Response(status, content=body, headers={"content-type": ctype})
        self.completed.add(handle)  # the control: a real completion
        return httpx.Response(200, content=_json(handle, status="completed", completed_at="2026-01-01T10:00:00Z"))


async def _no_sleep(_seconds: float) -> None:
    return None


async def test_malformed_answers_never_become_completions(tmp_path):
    api = FakeAPI()
    client = OrdersClient(Credentials(FAKE_ACCOUNT, SecretStr(FAKE_SECRET)), base_url="http://127.0.0.1:1",
                          transport=httpx.MockTransport(api), max_response_bytes=200_000,
                          sleep=_no_sleep, get_backoff=Backoff(max_attempts=1))
    handles = [*api.answers, "control"]
    journal_path = tmp_path / "journal.sqlite3"
    with Journal(journal_path) as journal:
        engine = BulkEngine(client, journal, sleep=_no_sleep, rng=random.Random(1), settle_delay=0.0,
                            max_sends=3, retry_budget=1000)
        report = await engine.run([OrderRef(h, "drop", 0, 0) for h in handles])
        ops = {op.order_handle: op for op in journal.list_ops()}
    results = {r.ref.order_handle: r for r in report.results}

    assert results["control"].status is ResultStatus.COMPLETED  # the checks below can fail
    assert ops["control"].state == "applied"
    for handle in api.answers:
        result = results[handle]
        assert not result.status.is_success, f"{handle}: {result.status} ({result.message})"
        assert ops[handle].state not in SUCCESS_STATES, handle
        assert api.posts[handle] <= 3, f"{handle} was POSTed {api.posts[handle]} times"
        assert_no_raw_controls(result.message, f"{handle} result message")
        assert_no_raw_controls(ops[handle].message or "", f"{handle} journal message")
        for key, messages in result.field_errors.items():
            assert_no_raw_controls(key + " ".join(messages), f"{handle} field errors")
    assert results["m-422"].status is ResultStatus.REJECTED and "[/oops]" in results["m-422"].message
    assert results["m-404"].status is ResultStatus.NOT_FOUND
    for name in MALFORMED:
        # never a completion: in doubt, or (read back after the settle window) not applied
        assert results[f"m-{name}"].status in (ResultStatus.IN_DOUBT, ResultStatus.NOT_APPLIED), (
            name, results[f"m-{name}"])
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("journal"))
    assert find_leaks(data) == []
