"""HyperTrack credentials: taken from the environment (or a caller), never from argv.

The secret is held as a :class:`Secret` so that ``repr()``, ``str()``, logs and Textual's crash
report (which prints local variables) show ``**********`` instead of it. It is turned into an
``Authorization`` header only inside :class:`console.api.client.BasicAuth`, whose repr is also
redacted. No httpx here: the sandbox's own process checks these credentials without it.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass



class Secret:
    """A string that never shows itself: ``repr``/``str``/f-strings give ``**********``.

    The same contract as pydantic's ``SecretStr`` (``get_secret_value()``; equal when the values
    are), without importing pydantic, which the console's start-up does not otherwise need
    (~40 ms of start-up). Anything with ``get_secret_value()`` is accepted where a Secret is.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __reduce__(self) -> tuple:
        raise TypeError("a Secret is not pickled: it would be written out in clear")


ACCOUNT_ENV = "HYPERTRACK_ACCOUNT_ID"
SECRET_ENV = "HYPERTRACK_SECRET_KEY"


@dataclass(frozen=True)
class Credentials:
    account_id: str
    secret_key: Secret

    def __repr__(self) -> str:
        return f"Credentials(account_id={self.account_id!r}, secret_key=Secret('**********'))"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Credentials | None":
        env = os.environ if environ is None else environ
        account = env.get(ACCOUNT_ENV, "").strip()
        secret = env.get(SECRET_ENV, "")
        if not account or not secret:
            return None
        return cls(account, Secret(secret))

    def basic_value(self) -> Secret:
        token = base64.b64encode(
            f"{self.account_id}:{self.secret_key.get_secret_value()}".encode()
        ).decode("ascii")
        return Secret(f"Basic {token}")
