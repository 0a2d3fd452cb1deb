"""Request helpers every handler shares: capped body reads, safe JSON, problem answers."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from gateway.errors import (
    BadRequest,
    PayloadTooLarge,
    ProblemError,
    RequestAborted,
    Unauthorized,
    Unprocessable,
    problem_body,
)
from gateway.routing import ApiKey, OrgRoutes

PROBLEM_JSON = "application/problem+json"


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        orjson.dumps(problem_body(status, title, detail, errors)),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def problem_from(exc: ProblemError) -> Response:
    retry_after = getattr(exc, "retry_after_seconds", None)
    headers = {"retry-after": str(retry_after)} if retry_after is not None else None
    if exc.closes_connection:
        headers = {**(headers or {}), "connection": "close"}
    return problem(exc.status, exc.title, exc.detail, errors=exc.errors, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) as soon as it is known to exceed ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise PayloadTooLarge(f"body exceeds {limit} bytes")
        except ValueError:
            raise BadRequest("content-length is not a number") from None
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"body exceeds {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise RequestAborted(size) from None
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    """Decode JSON that cannot hurt the process: malformed, non-UTF-8, too deep or integers
    beyond 64 bits are a 400 (orjson refuses all of these without recursing in Python)."""
    if body.startswith(_UTF8_BOM):
        # Some panels' HTTP clients prefix a UTF-8 byte-order mark; JSON parsers refuse it.
        body = body[len(_UTF8_BOM) :]
    if not body.strip():
        raise BadRequest("empty body; expected JSON")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc.msg}") from None
    # orjson reads integers past 64 bits as floats, silently losing digits; an id read that
    # way would be a different id. Only bodies with a 19-digit run can hold one.
    if _LONG_RUN in body.translate(_DIGITS_AS_ZERO) and _has_huge_integer(body):
        raise BadRequest("body has a number too large to read exactly (beyond 64 bits)")
    return value


# A 19-digit run, found by turning every digit into "0" and looking for nineteen of them:
# about a tenth of the cost of a regex scan, on every webhook body.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= i <= 0x39 else 0x2E for i in range(256))
_LONG_RUN = b"0" * 19
_UTF8_BOM = b"\xef\xbb\xbf"
#: What orjson reads as an integer: signed or unsigned 64-bit.
_INT_RANGE = range(-(2**63), 2**64)


def _has_huge_integer(body: bytes) -> bool:
    """Whether an integer literal of ``body`` is beyond 64 bits. Not the floats orjson made:
    a float written as 1e300 is no integer, and digits in a string are no number at all."""
    huge = False

    def check(literal: str) -> int:
        nonlocal huge
        huge = huge or int(literal) not in _INT_RANGE
        return 0

    try:
        json.loads(body, parse_int=check)
    except (RecursionError, ValueError):  # deeper than Python's parser goes; past int()'s 4,300 digits
        return True
    return huge


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def require_api_key(request: Request, routes: OrgRoutes) -> ApiKey:
    key = routes.api_key(bearer_token(request) or "")
    if key is None:
        raise Unauthorized("missing or invalid API key (Authorization: Bearer <key>)")
    return key


M = TypeVar("M", bound=BaseModel)


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """``errors`` of a 422: field path and message only, never the input value (it may be
    a secret or personal data)."""
    return [{"field": ".".join(map(str, e["loc"])) or "(body)", "message": e["msg"]} for e in exc.errors()]


def validate_body(model: type[M], body: Any, detail: str = "the body does not match the expected shape") -> M:
    """``body`` as ``model``, or a 422 naming every field that is wrong."""
    if not isinstance(body, dict):
        raise Unprocessable("the body must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise Unprocessable(detail, errors=field_errors(exc)) from None
