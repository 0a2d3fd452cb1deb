"""Prometheus metrics (SPEC §11), in a registry per app so tests and apps don't collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.webhooks_total = Counter(
            "gateway_webhooks_total",
            "Inbound webhook events by org, source and outcome (accepted, duplicate, rejected).",
            ["org", "source", "outcome"],
            registry=self.registry,
        )
        self.ingest_seconds = Histogram(
            "gateway_ingest_seconds",
            "Time from a webhook request's arrival to its acknowledgement.",
            ["source"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

        self.deliveries_total = Counter(
            "gateway_deliveries_total",
            "Delivery attempts by org, endpoint and outcome (delivered, retry, failed, gone).",
            ["org", "endpoint", "outcome"],
            registry=self.registry,
        )
        self.delivery_seconds = Histogram(
            "gateway_delivery_attempt_seconds",
            "Duration of one delivery attempt (connect to last byte read).",
            ["org", "endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

    def delivery(self, org: str, endpoint: str, outcome: str, seconds: float) -> None:
        self.deliveries_total.labels(org, endpoint, outcome).inc()
        self.delivery_seconds.labels(org, endpoint).observe(seconds)

    def webhooks(self, org: str, source: str, accepted: int, duplicates: int) -> None:
        if accepted:
            self.webhooks_total.labels(org, source, "accepted").inc(accepted)
        if duplicates:
            self.webhooks_total.labels(org, source, "duplicate").inc(duplicates)

    def rejected(self, org: str, source: str) -> None:
        self.webhooks_total.labels(org, source, "rejected").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
