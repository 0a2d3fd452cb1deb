"""Shiprocket tracking webhooks (domain.md §1.3): one shipment status per request.

Shiprocket sends two code families side by side. ``shipment_status_id`` and the scans'
``sr-status`` use the shipment-status numbering of ``shiprocket_codes``; ``current_status_id``
uses the order-status numbering, where the same number means something else (S1: 20 is
"In Transit" there but "Pickup Exception" here), so it is never read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from gateway.inbound.base import ParseResult, Unidentifiable
from gateway.inbound.shiprocket_codes import RETURN_LABELS, RETURN_LEG_CODES, SHIPMENT_STATUS, STATUS_LABELS
from gateway.models import InboundEvent, NotificationType, ShipmentType, Source
from gateway.values import first_text, flag, integer, label_words, text, timestamp

SOURCE: Source = Source.SHIPROCKET
AGGREGATOR_NAME = "SHIPROCKET"

#: Panel test pings carry the form's placeholder text ("Enter your channel order id").
_PING_PREFIX = "enter your"
_PING_FIELDS = ("channel_order_id", "channel")
#: Where the status text may be, in the order it is trusted; the first present is also ``rawStatus``.
_LABEL_FIELDS = ("shipment_status", "current_status", "sr-status-label")
#: Extra values worth keeping next to the event; none of them is a credential.
_META_FIELDS = ("sr_order_id", "channel_id", "etd", "awb_assigned_date", "pod_status", "qc_failure_reason")


class Status(NamedTuple):
    notification_type: NotificationType
    shipment_type: ShipmentType
    #: The code or label the type was read from, as received.
    raw_code: str | None


class Scan(NamedTuple):
    scan: Mapping[str, Any]
    when: datetime


def parse(body: Any) -> ParseResult:
    if not isinstance(body, Mapping):
        raise Unidentifiable("Shiprocket webhook body must be a JSON object")
    if _is_ping(body):
        return ParseResult.test_ping()
    # ``awb`` in webhooks; Shiprocket's own API answers call it ``awb_code``, and some
    # relays forward those bodies as they are.
    awb = first_text(body, "awb", "awb_code")
    if awb is None:
        raise Unidentifiable("Shiprocket webhook has no readable awb")
    # The newest scan is needed only when the code or the time is missing: finding it means
    # reading every scan's date, the dearest part of a Shiprocket body.
    by_code = _by_code(body.get("shipment_status_id"), flag(body.get("is_return")))
    needs_scans = by_code is None or text(body.get("current_timestamp")) is None
    newest = newest_scan(body.get("scans")) if needs_scans else None
    status = by_code or classify(body, newest)
    time_raw, status_time = _status_time(body, newest)
    order_id = text(body.get("order_id"))
    is_return = status.shipment_type is ShipmentType.RETURN
    return ParseResult(
        events=(
            InboundEvent(
                source=SOURCE,
                notification_type=status.notification_type,
                shipment_type=status.shipment_type,
                raw_status=first_text(body, *_LABEL_FIELDS),
                raw_code=status.raw_code,
                status_time=status_time,
                status_time_raw=time_raw,
                awb=awb,
                forward_awb=None if is_return else awb,
                return_awb=awb if is_return else None,
                return_order_id=order_id if is_return else None,
                forward_order_code=None if is_return else order_id,
                courier_name=text(body.get("courier_name")),
                aggregator_name=AGGREGATOR_NAME,
                aggregator_meta={k: v for k in _META_FIELDS if (v := text(body.get(k))) is not None},
                raw=body,
            ),
        )
    )


def classify(body: Mapping[str, Any], newest: Scan | None = None) -> Status:
    """The status of a body: by ``shipment_status_id``, then the newest scan's ``sr-status``,
    then the status text; a code that is present but not in the table falls through."""
    is_return = flag(body.get("is_return"))
    found = _by_code(body.get("shipment_status_id"), is_return)
    if found is None and newest is not None:
        found = _by_code(newest.scan.get("sr-status"), is_return)
    if found is None:
        # Some senders flatten the newest scan into the body: its code and label at the top.
        found = _by_code(body.get("sr-status"), is_return)
    for key in _LABEL_FIELDS:
        if found is None:
            found = _by_label(body.get(key), is_return)
    if found is not None:
        return found
    leg = ShipmentType.RETURN if is_return else ShipmentType.FORWARD
    return Status(NotificationType.UNKNOWN, leg, first_text(body, *_LABEL_FIELDS))


def newest_scan(scans: Any) -> Scan | None:
    """The latest scan by its own ``date``: arrays arrive oldest-first or newest-first."""
    items = scans.values() if isinstance(scans, Mapping) else scans if isinstance(scans, list) else ()
    best: Scan | None = None
    for scan in items:
        if not isinstance(scan, Mapping):
            continue
        when = timestamp(scan.get("date"))
        # A scan without a readable date cannot be placed in time, so it never counts as newest.
        if when is not None and (best is None or when > best.when):
            best = Scan(scan, when)
    return best


def _by_code(value: Any, is_return: bool) -> Status | None:
    code = integer(value)
    if code is None or code not in SHIPMENT_STATUS:
        return None
    return _from_code(code, is_return, text(value))


#: The label tables again, keyed by ``label_words``: read after the exact spelling missed.
_RETURN_BY_WORDS = {label_words(k): v for k, v in RETURN_LABELS.items()}
_STATUS_BY_WORDS = {label_words(k): v for k, v in STATUS_LABELS.items()}


def _by_label(value: Any, is_return: bool) -> Status | None:
    label = text(value)
    if label is None:
        return None
    key = label.upper()
    returned = RETURN_LABELS.get(key)
    code = STATUS_LABELS.get(key)
    if returned is None and code is None:
        key = label_words(label)
        returned, code = _RETURN_BY_WORDS.get(key), _STATUS_BY_WORDS.get(key)
    if returned is not None:
        return Status(returned, ShipmentType.RETURN, label)
    return None if code is None else _from_code(code, is_return, label)


def _from_code(code: int, is_return: bool, raw_code: str | None) -> Status:
    forward, on_return = SHIPMENT_STATUS[code]
    if is_return or code in RETURN_LEG_CODES:
        return Status(on_return, ShipmentType.RETURN, raw_code)
    return Status(forward, ShipmentType.FORWARD, raw_code)


def _status_time(body: Mapping[str, Any], newest: Scan | None) -> tuple[str | None, datetime | None]:
    # A present but unreadable current_timestamp is still this event's time: it is kept raw
    # rather than replaced by a scan's date, which may belong to an earlier status.
    raw = text(body.get("current_timestamp"))
    if raw is not None:
        return raw, timestamp(raw)
    if newest is not None:
        return text(newest.scan.get("date")), newest.when
    return None, None


def _is_ping(body: Mapping[str, Any]) -> bool:
    return any(
        isinstance(value, str) and value.strip().lower().startswith(_PING_PREFIX)
        for value in (body.get(key) for key in _PING_FIELDS)
    )
