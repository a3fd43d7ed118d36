"""Decide what the console talks to, and build the client for it.

- ``--sandbox``, or no credentials and no base URL: the embedded sandbox (in process, or, for
  the console, in a child process of its own: console/sandbox/process.py).
- otherwise: HyperTrack (or ``--base-url`` / ``HYPERTRACK_BASE_URL`` / the profile's base URL)
  with credentials from the environment, the system keyring, or a 0600 profile file.

No Textual imports: the headless commands use this too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from console.api.credentials import Secret

from console.api.client import DEFAULT_BASE_URL, OrdersClient, check_base_url
from console.api.credentials import ACCOUNT_ENV, SECRET_ENV, Credentials
from console.config import Profile

BASE_URL_ENV = "HYPERTRACK_BASE_URL"
KEYRING_SERVICE = "dispatch-console"
SANDBOX_BASE_URL = "http://127.0.0.1"


class ConnectionProblem(Exception):
    """Not enough to connect with; the message says what to set."""


@dataclass(frozen=True)
class Target:
    sandbox: bool
    base_url: str
    credentials: Credentials | None
    sandbox_seed: int = 7
    sandbox_orders: int = 500
    #: The embedded sandbox's clock speed (``--sandbox-speed``), and where its clock starts
    #: (UNIX seconds; None: when it is made): the console's clock runs with it.
    sandbox_speed: float = 1.0
    sandbox_epoch: float | None = None

    @property
    def account_id(self) -> str | None:
        return self.credentials.account_id if self.credentials else None


def keyring_secret(account_id: str) -> Secret | None:
    """The secret stored in the system keyring, if the optional keyring package works here.

    On a headless SSH box there is often no keyring backend: that is not an error, just no secret.
    """
    try:
        import keyring  # optional dependency
    except ImportError:
        return None
    try:
        value = keyring.get_password(KEYRING_SERVICE, account_id)
    except Exception:  # keyring backends raise many kinds of errors when no daemon is running
        return None
    return Secret(value) if value else None


def resolve_target(
    *,
    base_url: str | None,
    force_sandbox: bool,
    profile: Profile | None,
    environ: Mapping[str, str] | None = None,
    sandbox_seed: int = 7,
    sandbox_orders: int = 500,
    sandbox_speed: float = 1.0,
) -> Target:
    env = os.environ if environ is None else environ
    if force_sandbox:
        return Target(True, SANDBOX_BASE_URL, None, sandbox_seed, sandbox_orders, sandbox_speed)
    url = base_url or env.get(BASE_URL_ENV) or (profile.base_url if profile else None)
    account = env.get(ACCOUNT_ENV, "").strip() or (profile.account_id if profile else None)
    secret: Secret | None = None
    if env.get(SECRET_ENV):
        secret = Secret(env[SECRET_ENV])
    elif profile and profile.secret_key is not None:
        secret = profile.secret_key
    elif account:
        secret = keyring_secret(account)
    if not account and not secret and url is None:
        return Target(True, SANDBOX_BASE_URL, None, sandbox_seed, sandbox_orders, sandbox_speed)
    if not account or not secret:
        missing = ACCOUNT_ENV if not account else SECRET_ENV
        raise ConnectionProblem(
            f"{missing} is not set. Set {ACCOUNT_ENV} and {SECRET_ENV} in the environment "
            "(secrets are never taken from the command line), or run with --sandbox."
        )
    url = check_base_url(url or DEFAULT_BASE_URL)
    return Target(False, url, Credentials(account, secret))


def build_client(target: Target, *, sandbox_process: object | None = None,
                 **client_options: object) -> tuple[OrdersClient, object | None]:
    """The client for a target, and the embedded Sandbox object when there is one.

    ``sandbox_process``: a :class:`console.sandbox.process.SandboxProcess` already started for
    this target (the console starts it first: see that module); the client talks to it, and it
    is returned in place of the Sandbox object."""
    if target.sandbox and sandbox_process is not None:
        from console.sandbox.defaults import DEFAULT_ACCOUNT_ID, DEFAULT_SECRET_KEY

        credentials = Credentials(DEFAULT_ACCOUNT_ID, Secret(DEFAULT_SECRET_KEY))
        transport = sandbox_process.transport()  # type: ignore[attr-defined]
        return OrdersClient(credentials, base_url=target.base_url, transport=transport, **client_options), \
            sandbox_process
    if target.sandbox:
        from console.sandbox import Sandbox  # kept off the start-up path of real accounts

        sandbox = Sandbox(seed=target.sandbox_seed, orders=target.sandbox_orders, speed=target.sandbox_speed,
                          epoch=target.sandbox_epoch, elsewhere=True)
        client = OrdersClient(
            sandbox.credentials, base_url=target.base_url, transport=sandbox.transport(), **client_options
        )
        return client, sandbox
    return OrdersClient(target.credentials, base_url=target.base_url, **client_options), None
