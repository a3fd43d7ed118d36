"""The HyperTrack Orders API: models, errors and the async client. No Textual in here.

The client, the credentials and the pydantic models load on first use (PEP 562), not with the
package: every ``import console.api.<module>`` runs this file first, and a light module
(``vocab``, ``sanitize``, ``errors``) must not cost the start-up the models' schema building
(start-up time). ``from console.api import OrdersClient`` works all the same.
"""

from typing import TYPE_CHECKING

from console.api.errors import *  # noqa: F403 - the exception tree is part of the API
from console.api.handles import order_path, validate_handle
from console.lazy import lazy_getattr

if TYPE_CHECKING:
    from console.api.client import DEFAULT_BASE_URL, OrdersClient, check_base_url
    from console.api.credentials import Credentials
    from console.api.models import (
        RISK_KEYS,
        Order,
        OrderPage,
        OrderRef,
        OrderStatus,
        RiskLevel,
        TimelineEvent,
        UnknownEvent,
        parse_order,
        parse_order_page,
    )

_LAZY = {
    "DEFAULT_BASE_URL": "console.api.client",
    "OrdersClient": "console.api.client",
    "check_base_url": "console.api.client",
    "Credentials": "console.api.credentials",
    **{name: "console.api.models" for name in (
        "RISK_KEYS", "Order", "OrderPage", "OrderRef", "OrderStatus", "RiskLevel", "TimelineEvent",
        "UnknownEvent", "parse_order", "parse_order_page",
    )},
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
