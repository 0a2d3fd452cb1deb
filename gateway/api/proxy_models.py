"""Request bodies of the aggregator proxy (SPEC §8), validated at the edge.

The label and return-AWB bodies are the RMS Magic shapes (research/increff.md §3.2);
courier recommendation has its own small shape (§3.1). Ids and codes may arrive as
numbers; they are read as strings. Weights are grams, dimensions centimetres.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from gateway.field_limits import Identifier


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", coerce_numbers_to_str=True, str_strip_whitespace=True)


def _a_number(v: object) -> object:
    if isinstance(v, (str, bool)):
        raise ValueError("must be a number")
    return v


#: Numbers and flags are read strictly: "12" or "true" is a string, not a number or a flag
#: (a count may still be written 2.0, as JSON allows).
Amount = Annotated[float, Field(ge=0, strict=True)]
Size = Annotated[float, Field(gt=0, strict=True)]
# The bounds come before the validator: after it, pydantic cannot publish them.
Count = Annotated[int, Field(ge=1), BeforeValidator(_a_number)]
Quantity = Annotated[int, Field(ge=0), BeforeValidator(_a_number)]
NotBlank = Annotated[str, Field(min_length=1)]


def _or_null(schema: dict[str, Any]) -> None:
    # A null shipmentCode reads as "" (``OrderDetails._code``), so the schema admits it.
    value = {k: schema.pop(k) for k in list(schema) if k not in ("title", "default", "description")}
    schema["anyOf"] = [value, {"type": "null"}]


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
    sellingPricePerUnit: Amount
    quantity: Count


class OrderDetails(_Body):
    # Stored as the label's key: held to the identifier limit (gateway.field_limits).
    orderNumber: Identifier = Field(min_length=1)
    shipmentCode: Identifier = Field("", json_schema_extra=_or_null)
    paymentType: Literal["PREPAID", "COD"]
    orderAmount: Amount
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
    length: Size
    breadth: Size
    height: Size
    #: grams
    weight: Size


class LabelRequest(_Body):
    """Create Order and Generate Shipping Label (forward)."""

    pickupAddress: Address
    dropAddress: Address
    orderDetails: OrderDetails
    shipmentDimension: ShipmentDimension
    courierId: NotBlank | None = None
    warehouseCode: NotBlank | None = None
    accountAlias: NotBlank | None = None

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
    isCod: bool = Field(strict=True)
    #: grams
    weight: Size | None = None
    invoiceValue: Amount | None = None
    accountAlias: str | None = None
