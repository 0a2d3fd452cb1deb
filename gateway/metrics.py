"""Prometheus metrics (SPEC §11), in a registry per app so tests and apps don't collide."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
#: End to end includes retries: seconds up to the three days of the retry schedule.
_END_TO_END_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 7200, 21600, 86400, 259200)


class Metrics:
    def __init__(self) -> None:
        #: labels() children by (metric name, labels): per-webhook and per-delivery calls skip
        #: the lookup labels() makes each time.
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}
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

        self.end_to_end_seconds = Histogram(
            "gateway_end_to_end_seconds",
            "Time from a notification's acceptance to its successful delivery, per endpoint.",
            ["org", "endpoint"],
            buckets=_END_TO_END_BUCKETS,
            registry=self.registry,
        )
        # Set from the store at scrape time (see gateway/api/health.py), so every process
        # sharing a store reports the same numbers.
        self.backlog = Gauge(
            "gateway_endpoint_backlog",
            "Deliveries waiting (pending or parked) per endpoint.",
            ["org", "endpoint"],
            registry=self.registry,
        )
        self.oldest_pending_age = Gauge(
            "gateway_endpoint_oldest_pending_age_seconds",
            "Age of the oldest waiting (pending or parked) delivery per endpoint; 0 when none.",
            ["org", "endpoint"],
            registry=self.registry,
        )
        self.proxy_calls_total = Counter(
            "gateway_proxy_calls_total",
            "Aggregator proxy calls by aggregator, operation and outcome.",
            ["aggregator", "operation", "outcome"],
            registry=self.registry,
        )
        self.proxy_seconds = Histogram(
            "gateway_proxy_call_seconds",
            "Duration of one aggregator proxy call.",
            ["aggregator", "operation"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def ingested(self, source: str, seconds: float) -> None:
        """A webhook request acknowledged ``seconds`` after it arrived."""
        self._child(self.ingest_seconds, source).observe(seconds)

    def delivered(self, org: str, endpoint: str, seconds_since_accepted: float) -> None:
        self._child(self.end_to_end_seconds, org, endpoint).observe(max(seconds_since_accepted, 0.0))

    def proxy_call(self, aggregator: str, operation: str, outcome: str, seconds: float) -> None:
        """One aggregator call by the proxy; ``outcome`` e.g. ``ok``, ``error``, ``timeout``."""
        self.proxy_calls_total.labels(aggregator, operation, outcome).inc()
        self.proxy_seconds.labels(aggregator, operation).observe(seconds)

    def set_backlog(self, rows: Iterable[tuple[str, str, int, float | None]], now: float) -> None:
        """Replace the per-endpoint backlog gauges: ``(org, endpoint, count, oldest_created_at)``;
        endpoints no longer listed disappear."""
        self.backlog.clear()
        self.oldest_pending_age.clear()
        for org, endpoint, count, oldest in rows:
            self.backlog.labels(org, endpoint).set(count)
            self.oldest_pending_age.labels(org, endpoint).set(max(now - oldest, 0.0) if oldest is not None else 0.0)

    def delivery(self, org: str, endpoint: str, outcome: str, seconds: float) -> None:
        self._child(self.deliveries_total, org, endpoint, outcome).inc()
        self._child(self.delivery_seconds, org, endpoint).observe(seconds)

    def webhooks(self, org: str, source: str, accepted: int, duplicates: int) -> None:
        if accepted:
            self._child(self.webhooks_total, org, source, "accepted").inc(accepted)
        if duplicates:
            self._child(self.webhooks_total, org, source, "duplicate").inc(duplicates)

    def rejected(self, org: str, source: str) -> None:
        self.webhooks_total.labels(org, source, "rejected").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
