"""Errors that become HTTP answers, each mapping to one status (RFC 9457 problem+json).

Our exception hierarchy:

* GatewayError                 500, the gateway itself is broken
  + ProblemError               a request the gateway refuses; carries its status
    x BadRequest               400 unparseable body
    x Unauthorized             401 bad or missing credentials
    x NotFound                 404 unknown org, shipment, return, ...
    x Conflict                 409 e.g. changing a file-owned endpoint
      x InProgress             409 with Retry-After: the same generation is under way elsewhere
    x PayloadTooLarge          413 body over the cap (and the connection closes, lingering)
    x Unprocessable            422 parses, but lacks what identifies a shipment; field errors
  + StoreUnavailable           503 with Retry-After; nothing is acknowledged
  + RequestAborted             the client went away mid-body: nobody to answer (an info line)
"""

from __future__ import annotations

from typing import Any, ClassVar


class GatewayError(Exception):
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"


class ProblemError(GatewayError):
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    #: Answered with ``connection: close``: the rest of the request is not worth reading.
    closes_connection: ClassVar[bool] = False

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.detail!r})"


class BadRequest(ProblemError):
    status = 400
    title = "Bad request"


class Unauthorized(ProblemError):
    status = 401
    title = "Unauthorized"


class NotFound(ProblemError):
    status = 404
    title = "Not found"


class Conflict(ProblemError):
    status = 409
    title = "Conflict"


class InProgress(Conflict):
    """The same work is under way in another request (another process): retry shortly."""

    retry_after_seconds: ClassVar[int] = 5


class PayloadTooLarge(ProblemError):
    status = 413
    title = "Payload too large"
    closes_connection = True


class Unprocessable(ProblemError):
    status = 422
    title = "Unprocessable content"


class StoreUnavailable(GatewayError):
    status = 503
    title = "Service unavailable"
    retry_after_seconds: ClassVar[int] = 5


def problem_body(status: int, title: str, detail: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return body


class RequestAborted(GatewayError):
    """The client closed the connection before its body arrived: not a crash, nothing stored."""

    def __init__(self, received_bytes: int) -> None:
        super().__init__(f"client went away after {received_bytes} body bytes")
        self.received_bytes = received_bytes
