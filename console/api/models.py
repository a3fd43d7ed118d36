"""Pydantic models of the HyperTrack Orders API, faithful to ../shared/reference.

Rules that hold for every model here:
- Only ``order_handle`` and ``status`` are required on an order; every other field may be missing
  or null, and unknown fields are kept (``model_extra``), never an error.
- Every display string is sanitized (see :mod:`console.api.sanitize`) at this boundary. The one
  exception is ``order_handle``, which is kept byte-exact because it addresses the order: show it
  through :attr:`Order.display_handle`.
- Numbers must be finite (``NaN``/``Infinity`` are rejected), timestamps are parsed leniently.
- Timeline events are typed by their ``type``; an unknown type becomes :class:`UnknownEvent`,
  which keeps the whole raw event.
"""

from __future__ import annotations

import enum
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictFloat,
    StrictStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import from_json

from console.api.free_json import MAX_JSON_DEPTH, clean_json, parse_error_body  # noqa: F401 - re-exported
from console.api.sanitize import sanitize
from console.api.timestamps import parse_timestamp
# Plain-Python names the list path shares without importing this module; re-exported here.
from console.api.vocab import (  # noqa: F401
    FILTERABLE_STATUSES,
    OPEN_STATUSES,
    ORDER_TYPES,
    RISK_KEY_NAMES,
    RISK_KEYS,
    TERMINAL_STATUSES,
    OrderRef,
    RiskLevel,
    risk_level,
    worst_risk,
)

SafeStr = Annotated[str, AfterValidator(sanitize)]
Timestamp = Annotated[datetime | None, BeforeValidator(parse_timestamp)]
Number = int | float
#: Any JSON value, with its strings sanitized and its numbers finite.
FreeJson = Annotated[Any, AfterValidator(clean_json)]
#: A free-form JSON object (metadata), likewise cleaned.
JsonObject = Annotated[dict[str, Any], AfterValidator(clean_json)]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False, populate_by_name=True)

    @model_validator(mode="after")
    def _clean_extra(self) -> "ApiModel":
        # Unknown fields are kept (the API grows), but they may be shown too: clean them.
        extra = self.__pydantic_extra__
        if extra:
            self.__pydantic_extra__ = {sanitize(k): clean_json(v) for k, v in extra.items()}
        return self


# --------------------------------------------------------------------------- enums and identity


class OrderStatus(str, enum.Enum):
    UNPLANNED = "unplanned"
    PLANNED = "planned"
    ASSIGNED = "assigned"
    DISPATCHED = "dispatched"
    ONGOING = "ongoing"
    DISABLED = "disabled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    SUMMARIZING = "summarizing"


# --------------------------------------------------------------------------- risks


def _coerce_risks(value: Any) -> dict[str, Any]:
    # Risks are untyped in the list schema; anything that is not an object becomes "no risks"
    # rather than hiding the whole order.
    if not isinstance(value, dict):
        return {}
    return value


# Unknown keys and values are kept (sanitized), so a new risk still shows up.
Risks = Annotated[dict[str, Any], BeforeValidator(_coerce_risks), AfterValidator(clean_json)]


# --------------------------------------------------------------------------- geometry


class Geometry(ApiModel):
    """A GeoJSON geometry. Points are ``[lon, lat]`` (longitude first), maybe with a 3rd value."""

    # The reference schema's PointGeometry does not require "type" (default "Point"): an order
    # whose destination omits it is valid and must not be hidden.
    type: SafeStr = "Point"
    coordinates: FreeJson = None

    @cached_property
    def lon_lat(self) -> tuple[float, float] | None:
        """The position of a Point, or None for other shapes or bad coordinates."""
        return _lon_lat(self.coordinates) if self.type == "Point" else None


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x and abs(x) != float("inf")


def _lon_lat(coords: Any) -> tuple[float, float] | None:
    if isinstance(coords, (list, tuple)) and len(coords) >= 2 and _finite(coords[0]) and _finite(coords[1]):
        lon, lat = coords[0], coords[1]
        # Compared before float(): a 400-digit integer is out of range, not an OverflowError.
        if -180 <= lon <= 180 and -90 <= lat <= 90:
            return float(lon), float(lat)
    return None


class TrackPoint(ApiModel):
    """One polyline point: ``[lon, lat]`` or ``[lon, lat, altitude, recorded_at]``.

    Coordinates and altitude are JSON numbers (strict: ``"12.5"`` and ``true`` are not numbers).
    """

    lon: StrictFloat
    lat: StrictFloat
    altitude: StrictFloat | None = None
    recorded_at: Timestamp = None

    @classmethod
    def _from_list(cls, value: Any) -> Any:
        if isinstance(value, TrackPoint):
            return value
        if not isinstance(value, (list, tuple)):
            raise ValueError("a polyline point is an array")
        if len(value) < 2:
            raise ValueError("a polyline point needs longitude and latitude")
        return {
            "lon": value[0],
            "lat": value[1],
            "altitude": value[2] if len(value) > 2 else None,
            "recorded_at": value[3] if len(value) > 3 else None,
        }

    @field_validator("lon")
    @classmethod
    def _lon_range(cls, v: float) -> float:
        if not -180 <= v <= 180:
            raise ValueError("longitude out of range")
        return v

    @field_validator("lat")
    @classmethod
    def _lat_range(cls, v: float) -> float:
        if not -90 <= v <= 90:
            raise ValueError("latitude out of range")
        return v


TrackPointIn = Annotated[TrackPoint, BeforeValidator(TrackPoint._from_list)]
_POINT_ADAPTER: TypeAdapter[TrackPoint] = TypeAdapter(TrackPointIn)


def _lenient_point(item: Any) -> TrackPoint | None:
    """A polyline entry that failed as a point: the point without what failed, or None when it
    holds no position at all.

    The schema allows any array as a point (``[]``, ``[0]``, ``["a", "b"]``, ``[200, 10]``), and
    one such entry must not cost the supervisor the whole order. A readable position keeps its
    place when only its altitude is not a number (the altitude is dropped; a time that is not a
    timestamp is already no time). Non-finite numbers are not JSON: anywhere in the entry they
    refuse the body (ValueError), as they do everywhere else.
    """
    try:
        return _POINT_ADAPTER.validate_python(item)
    except ValidationError:
        pass
    clean_json(item)
    if _lon_lat(item) is None:
        return None
    return _POINT_ADAPTER.validate_python([item[0], item[1], None, *item[3:4]])


class Polyline(ApiModel):
    """The track as recorded. ``coordinates`` holds the readable points, in order; entries with
    no position are left out and counted in :attr:`unreadable`."""

    type: SafeStr = "LineString"
    coordinates: list[TrackPointIn] = Field(default_factory=list)
    # Private: a server cannot set the count (a field would be filled from the body).
    _unreadable: int = PrivateAttr(default=0)

    @property
    def unreadable(self) -> int:
        """How many polyline entries were left out because they hold no readable position."""
        return self._unreadable

    @model_validator(mode="wrap")
    @classmethod
    def _readable_points(cls, data: Any, handler: Any) -> "Polyline":
        # Every entry a point is the usual case, validated in one pass; an odd entry sends the
        # polyline through the per-entry pass (about twice the time, for that polyline only).
        try:
            return handler(data)
        except ValidationError:
            if not isinstance(data, dict):
                raise
        raw = data.get("coordinates")
        unreadable = 0
        if raw is None:
            data = {**data, "coordinates": []}
        elif isinstance(raw, list):
            points = []
            for item in raw:
                point = _lenient_point(item)
                if point is None:
                    unreadable += 1
                else:
                    points.append(point)
            data = {**data, "coordinates": points}
        polyline = handler(data)  # still fails if something other than the points is wrong
        polyline._unreadable = unreadable
        return polyline


class Region(ApiModel):
    country: SafeStr | None = None
    city: SafeStr | None = None
    state: SafeStr | None = None


class Destination(ApiModel):
    geometry: Geometry | None = None
    address: SafeStr | None = None
    radius: Number | None = None
    place_handle: SafeStr | None = None
    geofence_id: SafeStr | None = None
    place_id: SafeStr | None = None


class WorkerLocation(ApiModel):
    geometry: Geometry | None = None
    bearing: Number | None = None
    accuracy: Number | None = None
    speed: Number | None = None
    recorded_at: Timestamp = None


class Estimate(ApiModel):
    start_by: Timestamp = None
    start_at: Timestamp = None
    arrive_at: Timestamp = None
    initial_arrive_at: Timestamp = None
    distance: Number | None = None
    duration: Number | None = None
    current_worker_location: WorkerLocation | None = None


# --------------------------------------------------------------------------- timeline


class EventLocation(ApiModel):
    geometry: Geometry | None = None
    recorded_at: Timestamp = None


class TimelineEvent(ApiModel):
    """Base of every timeline event; ``TYPE`` names the wire type a subclass stands for."""

    TYPE: ClassVar[str] = ""
    type: SafeStr
    recorded_at: Timestamp = None


class _OrderEvent(TimelineEvent):
    order_handle: SafeStr | None = None
    route_handle: SafeStr | None = None
    fulfillment_attempt: int | None = None


class OrderCreated(TimelineEvent):
    TYPE = "order_created"
    order_handle: SafeStr | None = None
    metadata: JsonObject | None = None


class OrderPlanned(_OrderEvent):
    TYPE = "order_planned"


class OrderAssigned(TimelineEvent):
    TYPE = "order_assigned"
    order_handle: SafeStr | None = None
    driver_handle: SafeStr | None = None
    fulfillment_attempt: int | None = None


class OrderStarted(_OrderEvent):
    TYPE = "order_started"
    order_type: SafeStr | None = None


class _ActivityEvent(TimelineEvent):
    driver_handle: SafeStr | None = None
    activity: SafeStr | None = None
    location: EventLocation | None = None


class DriverActivityStarted(_ActivityEvent):
    TYPE = "driver_activity_started"
    address: SafeStr | None = None


class DriverActivityEnded(_ActivityEvent):
    TYPE = "driver_activity_ended"
    distance: Number | None = None
    duration: Number | None = None
    steps: int | None = None


class _PlaceEvent(TimelineEvent):
    location: EventLocation | None = None
    duration: Number | None = None
    distance: Number | None = None
    order_handle: SafeStr | None = None
    order_id: SafeStr | None = None
    order_type: SafeStr | None = None
    fulfillment_attempt: int | None = None
    address: SafeStr | None = None


class OrderGeofenceEntered(_PlaceEvent):
    TYPE = "order_geofence_entered"


class OrderGeofenceExited(_PlaceEvent):
    TYPE = "order_geofence_exited"


class OrderServiceStarted(_PlaceEvent):
    TYPE = "order_service_started"


class OrderServiceEnded(_PlaceEvent):
    TYPE = "order_service_ended"


class OrderDisabled(_OrderEvent):
    TYPE = "order_disabled"


class OrderCancelled(_OrderEvent):
    TYPE = "order_cancelled"
    cancellation_source: FreeJson = None


class OrderCompleted(_OrderEvent):
    TYPE = "order_completed"
    order_type: SafeStr | None = None
    deviation_from_destination: Number | None = None
    completed_at_destination: bool | None = None


class UnknownEvent(TimelineEvent):
    """An event type the console does not know (custom events, schema-only types).

    Kept whole in ``raw`` so it can be shown generically; never dropped.
    """

    raw: JsonObject = Field(default_factory=dict)


EVENT_TYPES: dict[str, type[TimelineEvent]] = {
    cls.TYPE: cls
    for cls in (
        OrderCreated, OrderPlanned, OrderAssigned, OrderStarted, DriverActivityStarted,
        DriverActivityEnded, OrderGeofenceEntered, OrderGeofenceExited, OrderServiceStarted,
        OrderServiceEnded, OrderDisabled, OrderCancelled, OrderCompleted,
    )
}


def parse_event(item: Any) -> TimelineEvent:
    """Type one raw timeline event; anything unexpected becomes an :class:`UnknownEvent`."""
    if isinstance(item, TimelineEvent):
        return item
    if not isinstance(item, dict):
        return UnknownEvent(type="(malformed event)", raw={"value": sanitize(repr(item)[:200])})
    kind = item.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is not None:
        try:
            return cls.model_validate(item)
        except ValidationError:
            pass  # a known type with an unexpected shape is still shown, generically
    return UnknownEvent(
        type=kind if isinstance(kind, str) else "(event without a type)",
        recorded_at=item.get("recorded_at") if isinstance(item.get("recorded_at"), str) else None,
        raw={k: v for k, v in item.items() if k not in ("type", "recorded_at")},
    )


def _parse_timeline(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, list):
        return []
    return [parse_event(item) for item in value]


Timeline = Annotated[list[TimelineEvent] | None, BeforeValidator(_parse_timeline)]


# --------------------------------------------------------------------------- the order


class Order(ApiModel):
    """An order as the list, detail and action responses return it."""

    order_handle: StrictStr  # byte-exact: it addresses the order
    status: SafeStr
    fulfillment_attempt: int | None = None
    type: SafeStr | None = None
    type_index: int | None = None

    ops_group_handle: SafeStr | None = None
    worker_handle: SafeStr | None = None
    driver_handle: SafeStr | None = None
    worker_name: SafeStr | None = None
    driver_name: SafeStr | None = None
    device_id: SafeStr | None = None
    route_handle: SafeStr | None = None
    plan_id: SafeStr | None = None
    plan_mode: SafeStr | None = None
    planning_failure_reason: SafeStr | None = None
    track_mode: SafeStr | None = None
    priority: SafeStr | None = None
    place_handle: SafeStr | None = None
    product_type: list[SafeStr] | None = None
    capacity_used: Number | None = None
    expected_service_time: Number | None = None
    actual_service_time: Number | None = None
    tracked_service_time: Number | None = None
    metadata: JsonObject | None = None
    region: Region | None = None
    share_url: SafeStr | None = None
    embed_url: SafeStr | None = None
    timezone: SafeStr | None = None

    created_at: Timestamp = None
    planned_at: Timestamp = None
    assigned_at: Timestamp = None
    started_at: Timestamp = None
    scheduled_after: Timestamp = None
    scheduled_at: Timestamp = None
    arrived_at: Timestamp = None
    exited_at: Timestamp = None
    service_started_at: Timestamp = None
    service_ended_at: Timestamp = None
    completed_at: Timestamp = None
    cancelled_at: Timestamp = None
    disabled_at: Timestamp = None
    enabled_at: Timestamp = None
    rescheduled_marked_at: Timestamp = None

    risk_status: bool | None = None
    risks: Risks | None = None
    destination: Destination | None = None
    estimate: Estimate | None = None

    distance: Number | None = None
    duration: Number | None = None
    tracking_rate: Number | None = None
    polyline: Polyline | None = None
    start_location: Geometry | None = None
    end_location: Geometry | None = None
    visited_destination: bool | None = None
    completed_at_destination: bool | None = None
    cancelled_at_destination: bool | None = None
    deviation_from_destination: Number | None = None
    timeline: Timeline = None

    @property
    def ref(self) -> OrderRef:
        return OrderRef(self.order_handle, self.type, self.type_index, self.fulfillment_attempt)

    @property
    def display_handle(self) -> str:
        return sanitize(self.order_handle)

    @property
    def worker(self) -> str | None:
        return self.worker_handle or self.driver_handle

    @property
    def worst_risk(self) -> RiskLevel:
        return worst_risk(self.risks)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


# --------------------------------------------------------------------------- pages and errors


class OrderPage(ApiModel):
    """One page of ``GET /orders/``. ``skipped`` lists orders that could not be read."""

    orders: list[Order] = Field(default_factory=list)
    pagination_token: StrictStr | None = None  # opaque and sent back as is: not sanitized
    # Private: filled only by parse_order_page. As a field, a server could have injected
    # (unsanitized) "skipped" messages of its own.
    _skipped: list[str] = PrivateAttr(default_factory=list)

    @property
    def skipped(self) -> list[str]:
        """One line per order of this page that could not be read (escaped handle and reason)."""
        return self._skipped


class HTTPErrorBody(ApiModel):
    message: SafeStr | None = None
    detail: FreeJson = None


class ValidationErrorBody(ApiModel):
    message: SafeStr | None = None
    detail: JsonObject | None = None


class ErrorBody(ApiModel):
    """The ``Error`` shape some non-order endpoints use."""

    code: SafeStr | None = None
    title: SafeStr | None = None
    detail: FreeJson = None


_PAGE_ADAPTER = TypeAdapter(OrderPage)
_ORDER_ADAPTER = TypeAdapter(Order)


def parse_order(body: bytes | str) -> Order:
    """Parse one order from JSON bytes; raises pydantic's ValidationError (never RecursionError)."""
    return _ORDER_ADAPTER.validate_json(body)


def parse_order_page(body: bytes | str) -> OrderPage:
    """Parse a list page; one malformed order is skipped (and reported), not fatal for the page.

    The fast path validates the whole page at once; only a page with a bad order pays for the
    per-order pass.
    """
    try:
        return _PAGE_ADAPTER.validate_json(body)
    except ValidationError:
        pass
    raw = _RAW_PAGE_ADAPTER.validate_json(body)  # raises ValidationError if not even a page
    # Page-level extras (e.g. "aggregate") are kept, as on the fast path.
    page = OrderPage.model_validate({**(raw.model_extra or {}), "pagination_token": raw.pagination_token})
    for index, item in enumerate(raw.orders or []):
        try:
            page.orders.append(_ORDER_ADAPTER.validate_python(item))
        except ValidationError as exc:
            handle = item.get("order_handle") if isinstance(item, dict) else None
            label = sanitize(handle) if isinstance(handle, str) else f"item {index}"
            page.skipped.append(f"{label}: {exc.error_count()} invalid field(s)")
    return page


class _RawPage(BaseModel):
    model_config = ConfigDict(extra="allow")
    orders: list[Any] | None = None
    pagination_token: StrictStr | None = None


_RAW_PAGE_ADAPTER = TypeAdapter(_RawPage)


