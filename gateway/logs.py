"""Structured logs: one JSON object per line on stdout, console output on a terminal.

Every line carries ``event``, ``timestamp`` and ``level``; context (``request_id``, ``org``,
...) is bound once per unit of work with contextvars. A last processor masks any
configured secret that reaches a log value, third-party loggers included.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import orjson
import structlog

_REDACTED = "[redacted]"


class SecretScrubber:
    """Replaces configured secret values wherever they appear in a log line's strings."""

    def __init__(self) -> None:
        self._secrets: tuple[str, ...] = ()

    def update(self, secrets: Iterable[str]) -> None:
        # Short values would mask ordinary words; real secrets are long.
        self._secrets = tuple(sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True))

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self._secrets:
                if secret in value:
                    value = value.replace(secret, _REDACTED)
            return value
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._clean(v) for v in value]
        return value

    def __call__(self, _logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if self._secrets:
            for key, value in event_dict.items():
                event_dict[key] = self._clean(value)
        return event_dict


scrubber = SecretScrubber()


def _json_text(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> str:
    return orjson.dumps(event_dict, default=str).decode()


def _json_bytes(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> bytes:
    return orjson.dumps(event_dict, default=str)


_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def configure(*, level: str = "info", fmt: str = "auto", worker: int | None = None) -> None:
    """Our own events go straight from structlog to stdout (no stdlib ``logging`` on the hot
    path: its records and handlers cost more than the rest of a line); third-party loggers
    (uvicorn, asyncio) go through ``logging`` and come out in the same format. ``worker``:
    the worker process's index (``server.workers`` > 1), on every line."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stdout.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        scrubber,
    ]
    if worker is not None:
        shared.insert(1, _WorkerField(worker))
    if use_json:
        final: Any = _json_bytes
        factory: Any = structlog.BytesLoggerFactory(sys.stdout.buffer)
    else:
        final = structlog.dev.ConsoleRenderer(colors=False)
        factory = structlog.WriteLoggerFactory(sys.stdout)
    structlog.configure(
        processors=[*shared, final],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _drop_color_message,
            _json_text if use_json else structlog.dev.ConsoleRenderer(colors=False),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS[level])
    # uvicorn's access log prints query strings (which may carry ?key=); httpx logs whole
    # URLs. Neither may reach the output.
    for name in ("uvicorn.access", "httpx", "httpcore", "aiohttp.access"):
        quiet = logging.getLogger(name)
        quiet.handlers[:] = []
        quiet.setLevel(logging.WARNING)
        quiet.propagate = name != "uvicorn.access"
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class _WorkerField:
    def __init__(self, worker: int) -> None:
        self.worker = worker

    def __call__(self, _logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event_dict["worker"] = self.worker
        return event_dict


def _drop_color_message(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # uvicorn adds an ANSI-coloured copy of its message as an extra; JSON readers want one.
    event_dict.pop("color_message", None)
    return event_dict


def get_logger(name: str = "gateway") -> Any:
    return structlog.get_logger(name)
