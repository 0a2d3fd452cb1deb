"""Shipway tracking webhooks (domain.md §2.3) in both shapes Shipway sends.

* the batch: ``{"hash": ..., "status_feed": [entry, ...]}``, each entry its own event;
* a single shipment at the top level: ``awbno``, ``current_status``, ``status_time``, often
  an ``api_input`` copy of the same fields, and ``scans`` as an object keyed "0", "1", ...

``hash`` is the credential and is checked by authentication, not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gateway.inbound.base import ParseResult, Unidentifiable
from gateway.models import InboundEvent, NotificationType, ShipmentType, Source
from gateway.values import label_words, mapping, text, timestamp

SOURCE: Source = Source.SHIPWAY
AGGREGATOR_NAME = "SHIPWAY"

_T = NotificationType
_F = ShipmentType.FORWARD
_R = ShipmentType.RETURN

#: ``current_status`` (as sent, else upper-cased) → (type, shipment type), domain.md §2.4/§6.2 in SPEC §6
#: names. The R-codes are Shipway's reverse-pickup flow, so they make a return leg.
STATUS_CODES: dict[str, tuple[NotificationType, ShipmentType]] = {
    "SCH": (_T.AWB_GENERATED, _F),  # shipment booked
    "OFP": (_T.OUT_FOR_PICKUP, _F),
    "PKF": (_T.PICKUP_FAILED, _F),
    "PCAN": (_T.PICKUP_CANCELLED, _F),
    "PKP": (_T.PICKED_UP, _F),
    "INT": (_T.IN_TRANSIT, _F),
    "NWI": (_T.IN_TRANSIT, _F),  # network issue
    "SMD": (_T.IN_TRANSIT, _F),  # delivery delayed
    "DNB": (_T.IN_TRANSIT, _F),  # delivery next day
    "OOD": (_T.OUT_FOR_DELIVERY, _F),
    "DEL": (_T.DELIVERED, _F),
    # Non-delivery reports: the code itself is the reason, kept as raw_code.
    "UND": (_T.FAILED_DELIVERY, _F),  # undelivered
    "CRTA": (_T.FAILED_DELIVERY, _F),  # customer refused
    "CNA": (_T.FAILED_DELIVERY, _F),  # consignee unavailable
    "DEX": (_T.FAILED_DELIVERY, _F),  # delivery exception
    "DRE": (_T.FAILED_DELIVERY, _F),  # delivery rescheduled
    "PNR": (_T.FAILED_DELIVERY, _F),  # COD payment not ready
    "FDR": (_T.FAILED_DELIVERY, _F),  # future delivery requested
    "NFI": (_T.FAILED_DELIVERY, _F),  # not found / incorrect
    "ODA": (_T.FAILED_DELIVERY, _F),  # out of delivery area
    "OTH": (_T.FAILED_DELIVERY, _F),  # others
    "22": (_T.FAILED_DELIVERY, _F),  # address incorrect
    "23": (_T.FAILED_DELIVERY, _F),  # delivery attempted
    "24": (_T.FAILED_DELIVERY, _F),  # pending undelivered
    "25": (_T.FAILED_DELIVERY, _F),  # attempted, premises closed
    "RTO": (_T.RTO, _F),
    "RTD": (_T.RTO_DELIVERED, _F),
    "CAN": (_T.CANCELLED, _F),
    "ONH": (_T.SHIPMENT_STUCK, _F),  # on hold
    "LOST": (_T.LOST, _F),
    "RSCH": (_T.PICKUP_SCHEDULED, _R),
    "RPSH": (_T.PICKUP_SCHEDULED, _R),  # return pickup rescheduled
    "RSMD": (_T.PICKUP_SCHEDULED, _R),  # return pickup delayed
    "ROOP": (_T.OUT_FOR_PICKUP, _R),
    "RPEX": (_T.PICKUP_FAILED, _R),
    "RPKP": (_T.RETURN_PICKED_UP, _R),
    "RINT": (_T.IN_TRANSIT, _R),
    "ROOD": (_T.OUT_FOR_DELIVERY, _R),
    "RUND": (_T.FAILED_DELIVERY, _R),
    "RDEL": (_T.RETURN_DELIVERED, _R),
    "RCAN": (_T.RETURN_CANCELLED, _R),
    # "Return request closed": domain.md flags it as unconfirmed; read as the return ending
    # without a delivery, like RCAN.
    "RCLO": (_T.RETURN_CANCELLED, _R),
}

#: Shipway's own words for its codes (domain.md §2.4), lower case with single spaces: some
#: panels and relays send the description instead of the code, or only a description field.
STATUS_LABELS: dict[str, str] = {
    "shipment booked": "SCH",
    "out for pickup": "OFP",
    "pickup failed": "PKF",
    "pickup cancelled": "PCAN",
    "picked up": "PKP",
    "in transit": "INT",
    "network issue": "NWI",
    "delivery delayed": "SMD",
    "delivery next day": "DNB",
    "out for delivery": "OOD",
    "delivered": "DEL",
    "undelivered": "UND",
    "customer refused": "CRTA",
    "consignee unavailable": "CNA",
    "delivery exception": "DEX",
    "delivery rescheduled": "DRE",
    "cod payment not ready": "PNR",
    "future delivery requested": "FDR",
    "not found incorrect": "NFI",
    "out of delivery area": "ODA",
    "others": "OTH",
    "address incorrect": "22",
    "delivery attempted": "23",
    "pending undelivered": "24",
    "attempted premises closed": "25",
    "rto": "RTO",
    "rto delivered": "RTD",
    "cancelled": "CAN",
    "on hold": "ONH",
    "lost": "LOST",
    "return pickup scheduled": "RSCH",
    "return pickup rescheduled": "RPSH",
    "return pickup delayed": "RSMD",
    "return out for pickup": "ROOP",
    "reverse pickup exception": "RPEX",
    "return picked up": "RPKP",
    "return in transit": "RINT",
    "return out for delivery": "ROOD",
    "return undelivered": "RUND",
    "return delivered": "RDEL",
    "return request cancelled": "RCAN",
    "return request closed": "RCLO",
}
_UNMAPPED = (_T.UNKNOWN, _F)
#: Where the shipment's AWB may be, in order (``awbno`` is Shipway's own name).
_AWB_FIELDS = ("awbno", "awb", "awb_number", "waybill")
#: Other fields that carry the code in Shipway's tracking API answers (domain.md §2.2).
_CODE_FIELDS = ("current_status_code", "shipment_status")
#: Descriptions to fall back on when ``current_status`` is absent or unknown.
_DESCRIPTION_FIELDS = ("current_status_desc", "scans_current_status")
#: The event's own time, in order: the panel shape may carry only the current scan's time.
_TIME_FIELDS = ("status_time", "scans_current_status_time")
#: Extra values worth keeping next to the event; none of them is a credential.
_META_FIELDS = ("carrier_id", "tracking_url", "current_status_desc", "reverse_tracking_number")


def parse(body: Any) -> ParseResult:
    if not isinstance(body, Mapping):
        raise Unidentifiable("Shipway webhook body must be a JSON object")
    feed = body.get("status_feed")
    if isinstance(feed, (list, Mapping)):
        return _batch(_entries(feed))
    if _awb(body) is None:
        if "status_feed" not in body and "order_id" in body and "current_status" in body:
            return ParseResult.test_ping()
        raise Unidentifiable("Shipway webhook has no readable awbno and no status_feed")
    return ParseResult(events=(_event(body),))


def _entries(feed: list[Any] | Mapping[str, Any]) -> list[Any]:
    """``status_feed`` as a list: an object is either keyed "0", "1", ... (PHP's arrays) or a
    lone entry sent without its list, told apart by the entry's own AWB field."""
    if isinstance(feed, list):
        return feed
    return [feed] if _awb(feed) is not None else list(feed.values())


def _batch(feed: list[Any]) -> ParseResult:
    if not feed:
        return ParseResult.test_ping()
    # One unreadable entry rejects the whole request: acknowledging the rest would make
    # Shipway drop the bad entry for good instead of letting someone fix and replay it.
    for index, entry in enumerate(feed):
        if not isinstance(entry, Mapping) or _awb(entry) is None:
            raise Unidentifiable(f"Shipway status_feed[{index}] has no readable awbno")
    return ParseResult(events=tuple(_event(entry) for entry in feed))


def _event(entry: Mapping[str, Any]) -> InboundEvent:
    awb = _awb(entry)
    code = _field(entry, "current_status")
    (notification_type, shipment_type), read_from = _classify(entry, code)
    order_id = _field(entry, "order_id")
    is_return = shipment_type is _R
    time_raw, status_time = _status_time(entry)
    return InboundEvent(
        source=SOURCE,
        notification_type=notification_type,
        shipment_type=shipment_type,
        raw_status=code or read_from,
        raw_code=read_from or code,
        status_time=status_time,
        status_time_raw=time_raw,
        awb=awb,
        forward_awb=None if is_return else awb,
        return_awb=awb if is_return else None,
        return_order_id=order_id if is_return else None,
        forward_order_code=None if is_return else order_id,
        courier_name=_field(entry, "carrier"),
        aggregator_name=AGGREGATOR_NAME,
        aggregator_meta={k: v for k in _META_FIELDS if (v := _field(entry, k)) is not None},
        raw=entry,
    )


def _classify(entry: Mapping[str, Any], code: str | None) -> tuple[tuple[NotificationType, ShipmentType], str | None]:
    """The type by ``current_status`` (the code as sent, then upper-cased, then read as a
    description), else by a description field; with the value it was read from."""
    if code is not None:
        row = _by_code(code) or _by_label(code)
        if row is not None:
            return row, code
    for key in _CODE_FIELDS:  # Shipway's tracking API answers, relayed as they are
        other = _field(entry, key)
        row = _by_code(other) if other is not None else None
        if row is not None:
            return row, other
    for key in _DESCRIPTION_FIELDS:
        description = _field(entry, key)
        row = _by_label(description) if description is not None else None
        if row is not None:
            return row, description
    return _UNMAPPED, code


def _by_code(value: str) -> tuple[NotificationType, ShipmentType] | None:
    return STATUS_CODES.get(value) or STATUS_CODES.get(value.upper())


def _by_label(value: str) -> tuple[NotificationType, ShipmentType] | None:
    code = STATUS_LABELS.get(label_words(value))
    return None if code is None else STATUS_CODES[code]


def _awb(entry: Mapping[str, Any]) -> str | None:
    return _first_field(entry, _AWB_FIELDS)


def _first_field(entry: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    """The first of ``keys`` present (``_field``'s way), in order."""
    for key in keys:
        found = _field(entry, key)
        if found is not None:
            return found
    return None


def _field(entry: Mapping[str, Any], key: str) -> str | None:
    """``entry[key]`` as text, else the ``api_input`` copy's: either may leave a field out."""
    found = text(entry.get(key))
    return found if found is not None else text(mapping(entry.get("api_input")).get(key))


def _status_time(entry: Mapping[str, Any]) -> tuple[str | None, datetime | None]:
    # A present but unreadable status_time is still this event's time: it is kept raw rather
    # than replaced by a scan's time, which may belong to an earlier status.
    raw = _first_field(entry, _TIME_FIELDS)
    if raw is not None:
        return raw, timestamp(raw)
    scans = entry.get("scans")
    if not isinstance(scans, (list, Mapping)):
        scans = mapping(entry.get("api_input")).get("scans")
    return newest_scan_time(scans)


def newest_scan_time(scans: Any) -> tuple[str | None, datetime | None]:
    """The latest scan ``time`` (raw, parsed), by the times themselves: neither the order of a
    list nor the keys of an object ("0", "2", ... with gaps) say which scan is newest."""
    items = scans.values() if isinstance(scans, Mapping) else scans if isinstance(scans, list) else ()
    best: tuple[str | None, datetime | None] = (None, None)
    for scan in items:
        if not isinstance(scan, Mapping):
            continue
        when = timestamp(scan.get("time"))
        if when is not None and (best[1] is None or when > best[1]):
            best = (text(scan.get("time")), when)
    return best
