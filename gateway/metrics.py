"""Prometheus metrics (SPEC §11), in a registry per app so tests and apps don't collide.

With several worker processes (``gateway.workers``) a scrape reaches one of them, so each
worker keeps its counters and histograms in files that every worker's ``/metrics`` sums
(prometheus-client's multiprocess mode, the way gunicorn deployments do it). The backlog
gauges are read from the shared store at scrape time and are never in those files.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_LATEST

#: Set in a worker process by ``share_between_processes``.
_shared_dir: Path | None = None
#: Shared metric directories are named ``<prefix><parent pid>-<random>``.
SHARED_DIR_PREFIX = "rms-gateway-metrics-"


def remove_orphaned_dirs(parent: Path) -> None:
    """Remove shared metric directories left by a gateway that was killed (its pid is gone)."""
    for directory in parent.glob(f"{SHARED_DIR_PREFIX}*-*"):
        pid = directory.name[len(SHARED_DIR_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(directory, ignore_errors=True)
        except PermissionError:
            pass  # alive, someone else's


def share_between_processes(directory: Path) -> None:
    """Keep this process's metric values in ``directory`` beside its sibling workers'.
    Call before any metric is made (the value class is chosen when a value is created)."""
    global _shared_dir
    _shared_dir = directory
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)  # where the value files go
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]  # prometheus-client leaves it untyped


class _Backlog(Collector):
    """Per-endpoint backlog gauges, replaced at each scrape from the store's numbers."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, int, float]] = []

    def collect(self) -> Iterator[Metric]:
        count = GaugeMetricFamily(
            "gateway_endpoint_backlog",
            "Deliveries waiting (pending or parked) per endpoint.",
            labels=["org", "endpoint"],
        )
        age = GaugeMetricFamily(
            "gateway_endpoint_oldest_pending_age_seconds",
            "Age of the oldest waiting (pending or parked) delivery per endpoint; 0 when none.",
            labels=["org", "endpoint"],
        )
        for org, endpoint, waiting, oldest_age in self.rows:
            count.add_metric([org, endpoint], waiting)
            age.add_metric([org, endpoint], oldest_age)
        yield count
        yield age


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
        self._backlog = _Backlog()
        self.scrape_registry = CollectorRegistry(auto_describe=True)
        self.scrape_registry.register(self._backlog)
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
        self._backlog.rows = [
            (org, endpoint, count, max(now - oldest, 0.0) if oldest is not None else 0.0)
            for org, endpoint, count, oldest in rows
        ]

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
        if _shared_dir is None:
            counted = self.registry
        else:
            counted = CollectorRegistry()
            MultiProcessCollector(counted, path=str(_shared_dir))  # type: ignore[no-untyped-call]  # untyped upstream
        return generate_latest(counted) + generate_latest(self.scrape_registry)
