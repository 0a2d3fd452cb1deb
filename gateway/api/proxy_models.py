"""Request bodies of the aggregator proxy (SPEC §8), validated at the edge.

The label and return-AWB bodies are the RMS Magic shapes (research/increff.md §3.2);
courier recommendation has its own small shape (§3.1). Ids and codes may arrive as
numbers; they are read as strings. Weights are grams, dimensions centimetres.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.field_limits import Identifier


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", coerce_numbers_to_str=True, str_strip_whitespace=True)


def _not_blank(v: str | None) -> str | None:
    if v is not None and not v:
        raise ValueError("must not be empty")
    return v


class Address(_Body):
    firstName: str = Field(min_length=1)
    lastName: str | None = None
    middleName: str | None = None
    addressLine1: str = Field(min_length=1)
    addressLine2: str | None = None
    addressLine3: str | None = None
    city: str = Field(min_length=1)
    state: str = Field(min_length=1)
    zip: str = Field(min_length=1)
    country: str = Field(min_length=1)
    phone: str | None = None
    email: str | None = None

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.firstName, self.middleName, self.lastName) if p)

    @property
    def street(self) -> str:
        return ", ".join(p for p in (self.addressLine1, self.addressLine2, self.addressLine3) if p)


class LineItem(_Body):
    name: str = Field(min_length=1)
    sku: str = Field(min_length=1)
    sellingPricePerUnit: float = Field(ge=0)
    quantity: int = Field(ge=1)


class OrderDetails(_Body):
    # Stored as the label's key: held to the identifier limit (gateway.field_limits).
    orderNumber: Identifier = Field(min_length=1)
    shipmentCode: Identifier = ""
    paymentType: Literal["PREPAID", "COD"]
    orderAmount: float = Field(ge=0)
    orderDate: str = Field(min_length=1)
    shipmentType: Literal["FORWARD", "RETURN"] | None = None
    orderLineItems: tuple[LineItem, ...] = Field(min_length=1)
    #: Beta payload (returns): the forward order this return belongs to.
    forwardOrderNumber: Identifier | None = None
    forwardShipmentNumber: Identifier | None = None

    @field_validator("shipmentCode", mode="before")
    @classmethod
    def _code(cls, v: object) -> object:
        return "" if v is None else v


class ShipmentDimension(_Body):
    length: float = Field(gt=0)
    breadth: float = Field(gt=0)
    height: float = Field(gt=0)
    #: grams
    weight: float = Field(gt=0)


class LabelRequest(_Body):
    """Create Order and Generate Shipping Label (forward)."""

    pickupAddress: Address
    dropAddress: Address
    orderDetails: OrderDetails
    shipmentDimension: ShipmentDimension
    courierId: str | None = None
    warehouseCode: str | None = None
    accountAlias: str | None = None

    _blank = field_validator("courierId", "warehouseCode", "accountAlias")(_not_blank)

    @property
    def is_return(self) -> bool:
        return False


class ReturnAwbRequest(LabelRequest):
    """Generate Return AWB: the label shape plus ``returnReason``; pickup is the customer,
    drop the warehouse."""

    returnReason: str = Field(min_length=1)

    @property
    def is_return(self) -> bool:
        return True


class CourierRequest(_Body):
    pickupPincode: str = Field(min_length=1)
    dropPincode: str = Field(min_length=1)
    deliveryType: Literal["FORWARD", "RETURN"]
    isCod: bool
    #: grams
    weight: float | None = Field(None, gt=0)
    invoiceValue: float | None = Field(None, ge=0)
    accountAlias: str | None = None
