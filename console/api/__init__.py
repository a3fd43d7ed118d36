"""The HyperTrack Orders API: models, errors and the async client. No Textual in here."""

from console.api.client import DEFAULT_BASE_URL, OrdersClient, check_base_url
from console.api.credentials import Credentials
from console.api.errors import *  # noqa: F403 - the exception tree is part of the API
from console.api.handles import order_path, validate_handle
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
