"""The aggregator proxy's service layer (SPEC §8): account choice, one AWB per shipment,
AWB_GENERATED. HTTP handlers live in ``gateway.api.proxy``; clients in ``gateway.aggregators``."""

from gateway.proxy.service import ProxyService, generate_return_awb

__all__ = ["ProxyService", "generate_return_awb"]
