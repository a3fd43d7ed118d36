"""HyperTrack credentials: taken from the environment (or a caller), never from argv.

The secret is held as a pydantic ``SecretStr`` so that ``repr()``, logs and Textual's crash
report (which prints local variables) show ``**********`` instead of it. It is turned into an
``Authorization`` header only inside :class:`BasicAuth`, whose repr is also redacted.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Generator, Mapping
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

ACCOUNT_ENV = "HYPERTRACK_ACCOUNT_ID"
SECRET_ENV = "HYPERTRACK_SECRET_KEY"


@dataclass(frozen=True)
class Credentials:
    account_id: str
    secret_key: SecretStr

    def __repr__(self) -> str:
        return f"Credentials(account_id={self.account_id!r}, secret_key=SecretStr('**********'))"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Credentials | None":
        env = os.environ if environ is None else environ
        account = env.get(ACCOUNT_ENV, "").strip()
        secret = env.get(SECRET_ENV, "")
        if not account or not secret:
            return None
        return cls(account, SecretStr(secret))

    def basic_value(self) -> SecretStr:
        token = base64.b64encode(
            f"{self.account_id}:{self.secret_key.get_secret_value()}".encode()
        ).decode("ascii")
        return SecretStr(f"Basic {token}")


class BasicAuth(httpx.Auth):
    """httpx auth that adds the Basic header at send time; the header value never sits in a
    plain local of ours, and httpx's ``Headers`` repr already masks ``Authorization``."""

    def __init__(self, credentials: Credentials) -> None:
        self._value = credentials.basic_value()

    def __repr__(self) -> str:
        return "BasicAuth(<redacted>)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._value.get_secret_value()
        yield request
