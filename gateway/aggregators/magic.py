"""Any aggregator on the RMS Magic contract (research/increff.md §2–§3): the Magic shapes
are POSTed as they are to the URLs the account configures, with its credential headers and
its ``logisticAggregatorName``; Get is ``GET {url}?orderId=``.

Answers use either spelling the documents show: ``awb`` or ``returnAwb``, ``courierData``
or ``couriers`` (§3.1, §3.3, §8).
"""

from __future__ import annotations

from typing import Any

from gateway.aggregators.accounts import MagicAccount
from gateway.aggregators.base import Courier, LabelResult, Operation, Unsupported, unsupported
from gateway.aggregators.http import Upstream
from gateway.api.proxy_models import CourierRequest, LabelRequest, ReturnAwbRequest
from gateway.values import first_text, integer, mapping, text


def magic_body(request: LabelRequest, name: str) -> dict[str, Any]:
    body = request.model_dump(exclude={"accountAlias"}, exclude_none=True)
    body["orderDetails"].setdefault("shipmentType", "RETURN" if request.is_return else "FORWARD")
    body["logisticAggregatorName"] = name
    return body


def courier_body(request: CourierRequest, name: str) -> dict[str, Any]:
    """Both generations of the Get Couriers body (§3.1): the current names and the older ones."""
    body = request.model_dump(exclude={"accountAlias"}, exclude_none=True)
    body.update(
        paymentType="COD" if request.isCod else "PREPAID",
        shipmentType=request.deliveryType,
        logisticAggregatorName=name,
    )
    if request.invoiceValue is not None:
        body["orderAmount"] = request.invoiceValue
    return body


class MagicClient:
    name = "magic"

    def __init__(self, upstream: Upstream, account: MagicAccount) -> None:
        self.up = upstream
        self.account = account

    def _url(self, which: str) -> str:
        url: str | None = getattr(self.account.urls, which)
        if url is None:
            raise Unsupported(f"magic aggregator {self.account.name}: no {which} URL is configured for this account")
        return url

    def _label(self, data: Any, *, is_return: bool) -> LabelResult:
        body = mapping(data)
        awb = first_text(body, "awb", "returnAwb")
        if awb is None:
            message = first_text(body, "message", "error")
            raise self.up.refused(message) if message else self.up.malformed("an awb")
        return LabelResult(
            order_id=text(body.get("orderId")),
            order_number=text(body.get("orderNumber")),
            awb=awb,
            carrier_name=first_text(body, "carrierName", "courierName"),
            shipping_label_url=None if is_return else text(body.get("shippingLabelUrl")),
        )

    async def _post(self, which: str, body: Any) -> Any:
        response = await self.up.call("POST", self._url(which), json=body, headers=self.account.headers)
        return self.up.check(response)

    async def _get(self, which: str, order_id: str) -> Any:
        url = self._url(which)
        response = await self.up.call("GET", url, params={"orderId": order_id}, headers=self.account.headers)
        return self.up.check(response)

    async def recommend(self, request: CourierRequest) -> list[Courier]:
        data = mapping(await self._post("get_couriers", courier_body(request, self.account.name)))
        rows = data.get("courierData", data.get("couriers"))
        if not isinstance(rows, list):
            raise self.up.malformed("courierData")
        couriers = []
        for index, row in enumerate(mapping(r) for r in rows):
            courier_id = text(row.get("courierId"))
            if courier_id is not None:
                couriers.append(
                    Courier(courier_id, text(row.get("courierName")), integer(row.get("priority")) or index + 1)
                )
        return sorted(couriers, key=lambda c: c.priority)

    async def create_order(self, request: LabelRequest) -> LabelResult:
        raise unsupported(self.name, Operation.CREATE_ORDER)

    async def generate_label(self, request: LabelRequest, created_order_id: str | None = None) -> LabelResult:
        data = await self._post("generate_label", magic_body(request, self.account.name))
        return self._label(data, is_return=False)

    async def get_label(self, order_id: str) -> LabelResult:
        return self._label(await self._get("get_label", order_id), is_return=False)

    async def generate_return_awb(self, request: ReturnAwbRequest) -> LabelResult:
        data = await self._post("generate_return_awb", magic_body(request, self.account.name))
        return self._label(data, is_return=True)

    async def get_return_awb(self, order_id: str) -> LabelResult:
        return self._label(await self._get("get_return_awb", order_id), is_return=True)
