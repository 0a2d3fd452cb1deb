"""Shiprocket's shipment-status codes and labels → SPEC §6 types (domain.md §1.4, §6.1).

Only the *shipment-status* family lives here (``shipment_status_id``, ``scans[].sr-status``);
``current_status_id`` follows the order-status numbering and is never looked up.
"""

from __future__ import annotations

from gateway.models import NotificationType

_T = NotificationType

#: Shipment-status code → (type of a forward leg, type when ``is_return`` is set). A return
#: leg keeps the generic name unless SPEC §6 has a return-specific one.
SHIPMENT_STATUS: dict[int, tuple[NotificationType, NotificationType]] = {
    1: (_T.AWB_GENERATED, _T.AWB_GENERATED),  # AWB Assigned
    2: (_T.AWB_GENERATED, _T.AWB_GENERATED),  # Label Generated
    3: (_T.PICKUP_SCHEDULED, _T.PICKUP_SCHEDULED),  # Pickup Scheduled/Generated
    4: (_T.PICKUP_SCHEDULED, _T.PICKUP_SCHEDULED),  # Pickup Queued
    5: (_T.AWB_GENERATED, _T.AWB_GENERATED),  # Manifest Generated
    6: (_T.IN_TRANSIT, _T.IN_TRANSIT),  # Shipped
    7: (_T.DELIVERED, _T.RETURN_DELIVERED),  # Delivered
    8: (_T.CANCELLED, _T.RETURN_CANCELLED),  # Canceled
    9: (_T.RTO, _T.RTO),  # RTO Initiated
    10: (_T.RTO_DELIVERED, _T.RTO_DELIVERED),  # RTO Delivered
    # Pre-AWB fulfilment state ("ORDER_CREATED" in domain.md): no SPEC type says it.
    11: (_T.UNKNOWN, _T.UNKNOWN),  # Pending
    12: (_T.LOST, _T.LOST),  # Lost
    13: (_T.PICKUP_FAILED, _T.PICKUP_FAILED),  # Pickup Error
    # Acknowledged by the seller *after* RTO delivery (Shiprocket KB), not RTO initiated.
    14: (_T.RTO_DELIVERED, _T.RTO_DELIVERED),  # RTO Acknowledged
    15: (_T.PICKUP_SCHEDULED, _T.PICKUP_SCHEDULED),  # Pickup Rescheduled
    16: (_T.SHIPMENT_STUCK, _T.SHIPMENT_STUCK),  # Cancellation Requested
    17: (_T.OUT_FOR_DELIVERY, _T.OUT_FOR_DELIVERY),  # Out For Delivery
    18: (_T.IN_TRANSIT, _T.IN_TRANSIT),  # In Transit
    19: (_T.OUT_FOR_PICKUP, _T.OUT_FOR_PICKUP),  # Out For Pickup
    20: (_T.PICKUP_FAILED, _T.PICKUP_FAILED),  # Pickup Exception
    21: (_T.FAILED_DELIVERY, _T.FAILED_DELIVERY),  # Undelivered
    22: (_T.IN_TRANSIT, _T.IN_TRANSIT),  # Delayed
    23: (_T.DELIVERED, _T.RETURN_DELIVERED),  # Partial Delivered
    24: (_T.LOST, _T.LOST),  # Destroyed
    25: (_T.DAMAGED, _T.DAMAGED),  # Damaged
    26: (_T.DELIVERED, _T.RETURN_DELIVERED),  # Fulfilled
    27: (_T.PICKUP_SCHEDULED, _T.PICKUP_SCHEDULED),  # Pickup Booked
    38: (_T.IN_TRANSIT, _T.IN_TRANSIT),  # Reached at Destination Hub
    39: (_T.IN_TRANSIT, _T.IN_TRANSIT),  # Misrouted
    40: (_T.RTO_IN_TRANSIT, _T.RTO_IN_TRANSIT),  # RTO_NDR (an RTO attempt failed; still moving)
    41: (_T.RTO_OUT_FOR_DELIVERY, _T.RTO_OUT_FOR_DELIVERY),  # RTO_OFD
    42: (_T.PICKED_UP, _T.RETURN_PICKED_UP),  # Picked Up
    43: (_T.DELIVERED, _T.RETURN_DELIVERED),  # Self Fulfilled
    44: (_T.LOST, _T.LOST),  # Disposed Off
    45: (_T.CANCELLED, _T.RETURN_CANCELLED),  # Cancelled Before Dispatched
    46: (_T.RTO_IN_TRANSIT, _T.RTO_IN_TRANSIT),  # RTO In Intransit
    47: (_T.PICKUP_FAILED, _T.PICKUP_FAILED),  # QC Failed (doorstep QC of a reverse pickup)
    48: (_T.IN_TRANSIT, _T.IN_TRANSIT),  # Reached Warehouse
    49: (_T.IN_TRANSIT, _T.IN_TRANSIT),  # Custom Cleared
    50: (_T.IN_TRANSIT, _T.IN_TRANSIT),  # In Flight
    51: (_T.IN_TRANSIT, _T.IN_TRANSIT),  # Handover to Courier
    52: (_T.AWB_GENERATED, _T.AWB_GENERATED),  # Shipment Booked
    53: (_T.IN_TRANSIT, _T.IN_TRANSIT),  # (no published label; inside domain.md's 49–57 range)
    54: (_T.IN_TRANSIT, _T.IN_TRANSIT),  # In Transit Overseas
    55: (_T.IN_TRANSIT, _T.IN_TRANSIT),  # Connection Aligned
    56: (_T.IN_TRANSIT, _T.IN_TRANSIT),  # Reached Overseas Warehouse
    57: (_T.IN_TRANSIT, _T.IN_TRANSIT),  # Custom Cleared Overseas
    # 59–68: fulfilment-centre states before any AWB moves ("ORDER_CREATED").
    59: (_T.UNKNOWN, _T.UNKNOWN),  # Box Packing
    60: (_T.UNKNOWN, _T.UNKNOWN),  # FC Allocated
    61: (_T.UNKNOWN, _T.UNKNOWN),  # Picklist Generated
    62: (_T.UNKNOWN, _T.UNKNOWN),  # Ready To Pack
    63: (_T.UNKNOWN, _T.UNKNOWN),  # Packed
    64: (_T.UNKNOWN, _T.UNKNOWN),
    65: (_T.UNKNOWN, _T.UNKNOWN),
    66: (_T.UNKNOWN, _T.UNKNOWN),
    67: (_T.UNKNOWN, _T.UNKNOWN),  # FC Manifest Generated
    68: (_T.UNKNOWN, _T.UNKNOWN),  # Processed at Warehouse
    71: (_T.PICKUP_FAILED, _T.PICKUP_FAILED),  # Handover Exception
    72: (_T.SHIPMENT_STUCK, _T.SHIPMENT_STUCK),  # Packed Exception
    75: (_T.RTO, _T.RTO),  # RTO Lock
    76: (_T.SHIPMENT_STUCK, _T.SHIPMENT_STUCK),  # Untraceable
    77: (_T.FAILED_DELIVERY, _T.FAILED_DELIVERY),  # Issue Related to the Recipient
    78: (_T.RTO_IN_TRANSIT, _T.RTO_IN_TRANSIT),  # Reached Back at Seller City
}

#: Codes that describe a return leg whatever ``is_return`` says: doorstep QC only happens on
#: a reverse pickup.
RETURN_LEG_CODES: frozenset[int] = frozenset({47})

#: Status text (trimmed, upper-cased) → shipment-status code, for the last-resort fallback.
#: Matched whole, never as a substring. Spellings Shiprocket is seen to send sit side by side.
STATUS_LABELS: dict[str, int] = {
    "AWB ASSIGNED": 1,
    "LABEL GENERATED": 2,
    "PICKUP SCHEDULED": 3,
    "PICKUP GENERATED": 3,
    "PICKUP SCHEDULED/GENERATED": 3,
    "PICKUP QUEUED": 4,
    "MANIFEST GENERATED": 5,
    "SHIPPED": 6,
    "DELIVERED": 7,
    "CANCELED": 8,
    "CANCELLED": 8,
    "RTO INITIATED": 9,
    "RTO DELIVERED": 10,
    "PENDING": 11,
    "LOST": 12,
    "PICKUP ERROR": 13,
    "RTO ACKNOWLEDGED": 14,
    "PICKUP RESCHEDULED": 15,
    "CANCELLATION REQUESTED": 16,
    "OUT FOR DELIVERY": 17,
    "IN TRANSIT": 18,
    "OUT FOR PICKUP": 19,
    "PICKUP EXCEPTION": 20,
    "UNDELIVERED": 21,
    "DELAYED": 22,
    "PARTIAL DELIVERED": 23,
    "DESTROYED": 24,
    "DAMAGED": 25,
    "FULFILLED": 26,
    "PICKUP BOOKED": 27,
    "REACHED AT DESTINATION HUB": 38,
    "MISROUTED": 39,
    "RTO_NDR": 40,
    "RTO NDR": 40,
    "RTO_OFD": 41,
    "RTO OFD": 41,
    "PICKED UP": 42,
    "SELF FULFILLED": 43,
    "DISPOSED OFF": 44,
    "CANCELLED BEFORE DISPATCHED": 45,
    "RTO IN INTRANSIT": 46,
    "RTO IN TRANSIT": 46,
    "QC FAILED": 47,
    "REACHED WAREHOUSE": 48,
    "CUSTOM CLEARED": 49,
    "IN FLIGHT": 50,
    "HANDOVER TO COURIER": 51,
    "SHIPMENT BOOKED": 52,
    "IN TRANSIT OVERSEAS": 54,
    "CONNECTION ALIGNED": 55,
    "REACHED OVERSEAS WAREHOUSE": 56,
    "CUSTOM CLEARED OVERSEAS": 57,
    "BOX PACKING": 59,
    "FC ALLOCATED": 60,
    "PICKLIST GENERATED": 61,
    "READY TO PACK": 62,
    "PACKED": 63,
    "FC MANIFEST GENERATED": 67,
    "PROCESSED AT WAREHOUSE": 68,
    "HANDOVER EXCEPTION": 71,
    "PACKED EXCEPTION": 72,
    "RTO LOCK": 75,
    "UNTRACEABLE": 76,
    "ISSUE RELATED TO THE RECIPIENT": 77,
    "REACHED BACK AT SELLER CITY": 78,
    # Spellings seen in Shiprocket's panel and current_status: a sub-status after a dash,
    # a word dropped, a typo kept.
    "IN TRANSIT-EN-ROUTE": 18,
    "IN TRANSIT-AT DESTINATION HUB": 38,
    "REACHED DESTINATION HUB": 38,
    "UNDELIVERED-1ST ATTEMPT": 21,
    "UNDELIVERED-2ND ATTEMPT": 21,
    "UNDELIVERED-3RD ATTEMPT": 21,
    "SELF FULFILED": 43,  # sic
    # Order-status names (domain.md §1.4) where they differ from the shipment-status labels.
    "READY TO SHIP": 2,  # label generated
    "PICKUP QUEUE": 4,
    "DELIVERY DELAYED": 22,
}

#: Return labels of the order-status family, seen in ``current_status`` text (domain.md §6.1).
#: The words themselves say "return", so they make a RETURN leg even without ``is_return``.
RETURN_LABELS: dict[str, NotificationType] = {
    "RETURN PENDING": _T.RETURN_CREATED,
    "RETURN INITIATED": _T.RETURN_CREATED,
    "RETURN PICKUP QUEUED": _T.PICKUP_SCHEDULED,
    "RETURN PICKUP GENERATED": _T.PICKUP_SCHEDULED,
    "RETURN PICKUP RESCHEDULED": _T.PICKUP_SCHEDULED,
    "RETURN PICKUP ERROR": _T.PICKUP_FAILED,
    "RETURN PICKED UP": _T.RETURN_PICKED_UP,
    "RETURN IN TRANSIT": _T.IN_TRANSIT,
    "RETURN DELIVERED": _T.RETURN_DELIVERED,
    "RETURN RECEIVED": _T.RETURN_DELIVERED,
    "RETURN CANCELLED": _T.RETURN_CANCELLED,
    "RETURN PICKUP CANCELLED": _T.RETURN_CANCELLED,
    # Like 16 "Cancellation Requested": held until the cancellation is decided.
    "RETURN CANCELLATION REQUESTED": _T.SHIPMENT_STUCK,
}
