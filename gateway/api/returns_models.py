"""Request bodies of the returns API (SPEC §9), validated at the edge.

Create Return Order comes in Increff's two shapes: the Omni one (``returnOrderCode``,
``forwardOrderCode``, ``orderItems``, addresses with ``line1..3``) and RMS's
``/return/create`` one (``orderDetails.orderNumber`` / ``forwardOrderNumber`` /
``orderLineItemList``, addresses with ``street1..3``). Unknown fields are kept, not refused.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.api.proxy_models import Quantity
from gateway.field_limits import Identifier, Text


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, populate_by_name=True)


class Address(_Loose):
    name: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    line1: str | None = None
    line2: str | None = None
    line3: str | None = None
    street1: str | None = None
    street2: str | None = None
    street3: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    phone: str | None = None
    email: str | None = None


class ReturnItem(_Loose):
    itemCode: Identifier | None = None
    channelSkuCode: Identifier | None = None
    reason: Text | None = None
    quantity: Quantity | None = None


class OrderLineItem(_Loose):
    clientSkuId: Identifier | None = None
    name: str | None = None
    quantity: Quantity | None = None


class OrderDetails(_Loose):
    orderNumber: Identifier | None = None
    forwardOrderNumber: Identifier | None = None
    forwardShipmentNumber: Identifier | None = None
    orderLineItemList: list[OrderLineItem] | None = None


class CreateReturnOrder(_Loose):
    returnOrderCode: Identifier | None = None
    forwardOrderCode: Identifier | None = None
    awbNumber: Identifier | None = None
    transporter: Identifier | None = None
    returnOrderTime: Identifier | None = None
    locationCode: Identifier | None = None
    warehouseCode: Identifier | None = None
    returnReason: Text | None = None
    returnsSystem: Literal["returns_prime", "clickpost"] | None = None
    orderItems: list[ReturnItem] | None = None
    orderDetails: OrderDetails | None = None
    pickupAddress: Address | None = None
    dropAddress: Address | None = None
    accountAlias: str | None = None

    @field_validator("returnOrderTime", mode="before")
    @classmethod
    def _time_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    def return_code(self) -> str | None:
        code = self.returnOrderCode or (self.orderDetails.orderNumber if self.orderDetails else None)
        return code.strip() or None if code else None

    def forward_code(self) -> str | None:
        code = self.forwardOrderCode or (self.orderDetails.forwardOrderNumber if self.orderDetails else None)
        return code.strip() or None if code else None

    def items(self) -> list[tuple[str | None, str | None, int]]:
        """(itemId, sku, quantity) per line; one Omni item is one unit."""
        if self.orderItems:
            return [(i.itemCode, i.channelSkuCode, i.quantity or 1) for i in self.orderItems]
        lines = self.orderDetails.orderLineItemList if self.orderDetails else None
        return [(None, line.clientSkuId, line.quantity or 1) for line in lines or []]


class QcItem(BaseModel):
    # Fields we do not read are dropped, not refused: a WMS sending one more field (Increff's
    # sibling /usp/return carries several) must not lose its QC result, and the body sent on
    # to the returns system stays exactly the Returns Processing Update (SPEC §9).
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)
    itemCode: Identifier = Field(min_length=1)
    channelSkuCode: Identifier = Field(min_length=1)
    qcStatus: Literal["PASS", "FAIL"]
    #: Free text: the standard reasons (increff.md §7.4) plus whatever a brand configured.
    qcReason: Text | None = None
    imageUrls: list[str] | None = None


class ProcessingUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)
    returnOrderCode: Identifier | None = None
    forwardOrderCode: Identifier | None = None
    locationCode: Identifier | None = None
    orderItems: list[QcItem] = Field(min_length=1)
