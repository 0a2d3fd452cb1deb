"""``GET /openapi.json``: an OpenAPI 3.1 document built from the routes the app mounts.

Every operation is described once, next to its models, with ``register``::

    register("POST", "/v1/{org}/labels", Operation(
        "Generate a shipping label", tag="proxy", body=LabelRequest,
        responses={200: LabelResult}, problems=(400, 422, 502, 504), security=(("apiKey",),)))

The document is assembled at request time from ``app.routes`` and the JSON schemas
pydantic derives from the registered models (``gateway.openapi_edge.EdgeSchema`` adds what
the edge does before a model sees a body), so it cannot drift from the validating models.
A mounted route nobody registered still appears (marked undocumented) and
``undocumented(app.routes)`` names it: a test keeps that list empty.

One route may serve several documented operations: ``expand`` names the concrete paths it
is published as (``/v1/{org}/webhooks/{source}`` is one path per source, each with its
own body and credentials), and each of those is registered like any other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

import gateway
from gateway.api.common import PROBLEM_JSON, JSONResponse
from gateway.api.schemas import Problem
from gateway.openapi_edge import COMPONENTS, EdgeSchema

OPENAPI_VERSION = "3.1.0"
_REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")

#: How callers prove who they are (SPEC §6, §11); operations name these in ``security``.
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "adminToken": {"type": "http", "scheme": "bearer", "description": "the admin token (`[admin] token`)"},
    "apiKey": {"type": "http", "scheme": "bearer", "description": "an org's API key (`[[api_keys]]`)"},
    "shiprocketKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
    "clickpostKey": {"type": "apiKey", "in": "header", "name": "webhook_key"},
    "clickpostAuthorization": {"type": "apiKey", "in": "header", "name": "Authorization"},
    "magicUsername": {"type": "apiKey", "in": "header", "name": "authUsername"},
    "magicPassword": {"type": "apiKey", "in": "header", "name": "authPassword"},
    "magicDomain": {"type": "apiKey", "in": "header", "name": "authDomainName"},
    "webhookQueryKey": {
        "type": "apiKey",
        "in": "query",
        "name": "key",
        "description": "a source's secret in the URL, for aggregator panels that store only a URL",
    },
}

_TITLES = {
    400: "Bad request",
    401: "Unauthorized (missing or invalid credentials)",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
    422: "Unprocessable content",
    501: "Not implemented by this aggregator",
    502: "Bad upstream answer",
    503: "Service unavailable (store down); retry after `Retry-After` seconds",
    504: "Upstream deadline exceeded",
}


@dataclass(frozen=True)
class Body:
    """A body that is not a JSON model (HTML, Prometheus text, any JSON)."""

    media_type: str | tuple[str, ...]
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})
    description: str = ""

    def content(self) -> dict[str, Any]:
        types = (self.media_type,) if isinstance(self.media_type, str) else self.media_type
        return {media_type: {"schema": dict(self.schema)} for media_type in types}


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    #: Success answers by status. Problem answers are listed by status in ``problems``;
    #: 401 (when ``security`` is set) and 404 (when the path has parameters) are implied.
    responses: Mapping[int, type[BaseModel] | Body]
    problems: tuple[int, ...] = ()
    #: A model, several (the body matches any of them), or a non-model body.
    body: type[BaseModel] | tuple[type[BaseModel], ...] | Body | None = None
    #: What a model body must also satisfy that its fields alone cannot say (JSON Schema).
    body_rules: tuple[Mapping[str, Any], ...] = ()
    query: type[BaseModel] | None = None
    #: Types of path parameters; a parameter not in the model is a non-empty string.
    path: type[BaseModel] | None = None
    #: Alternatives; each names schemes that are all required together.
    security: tuple[tuple[str, ...], ...] = ()
    description: str = ""


OPERATIONS: dict[tuple[str, str], Operation] = {}
#: A mounted (method, path) → the concrete paths it is documented as.
EXPANSIONS: dict[tuple[str, str], tuple[str, ...]] = {}


def register(method: str, path: str, operation: Operation) -> None:
    OPERATIONS[(method.upper(), path)] = operation


def expand(method: str, path: str, paths: Iterable[str]) -> None:
    """Document the route ``(method, path)`` as ``paths``, each registered on its own."""
    EXPANSIONS[(method.upper(), path)] = tuple(paths)


def mounted(routes: Iterable[BaseRoute], prefix: str = "") -> list[tuple[str, str]]:
    """``(method, path)`` of every HTTP operation the routes serve (HEAD implied by GET)."""
    found: list[tuple[str, str]] = []
    for route in routes:
        if isinstance(route, Route):
            methods = sorted(route.methods or {"GET"})
            found.extend((m, prefix + route.path_format) for m in methods if m != "HEAD")
        elif isinstance(route, Mount):
            found.extend(mounted(route.routes, prefix + route.path_format))
    return found


def published(routes: Iterable[BaseRoute]) -> list[tuple[str, str]]:
    """``(method, path)`` of every operation the document lists."""
    return [(m, concrete) for m, p in mounted(routes) for concrete in EXPANSIONS.get((m, p), (p,))]


def undocumented(routes: Iterable[BaseRoute]) -> list[tuple[str, str]]:
    return [key for key in published(routes) if key not in OPERATIONS]


def document(routes: Iterable[BaseRoute]) -> dict[str, Any]:
    operations = [(m, p, OPERATIONS.get((m, p))) for m, p in published(routes)]
    models = _models(op for _, _, op in operations if op is not None)
    keys, defs = models_json_schema(models, ref_template=_REF, schema_generator=EdgeSchema)
    paths: dict[str, dict[str, Any]] = {}
    for method, path, op in operations:
        entry = _operation(path, op, keys) if op else {"summary": "undocumented", "responses": {"default": {}}}
        entry["operationId"] = method.lower() + _PATH_PARAM.sub(r"_\1", path).replace("/", "_").replace("-", "_")
        paths.setdefault(path, {})[method.lower()] = entry
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "rms-gateway",
            "version": gateway.__version__,
            "description": "Webhook gateway and notification router for e-commerce shipping and returns.",
        },
        "paths": paths,
        "components": {
            "schemas": {**defs.get("$defs", {}), **COMPONENTS},
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


async def openapi_json(request: Request) -> Response:
    return JSONResponse(document(request.app.routes))


_Keys = Mapping[tuple[Any, JsonSchemaMode], Any]


def _models(ops: Iterable[Operation]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(Problem, "serialization"): None}
    for op in ops:
        bodies = op.body if isinstance(op.body, tuple) else (op.body,) if isinstance(op.body, type) else ()
        for model in bodies:
            wanted[(model, "validation")] = None
        for answer in op.responses.values():
            if isinstance(answer, type):
                wanted[(answer, "serialization")] = None
    return list(wanted)


def _operation(path: str, op: Operation, keys: _Keys) -> dict[str, Any]:
    entry: dict[str, Any] = {"summary": op.summary, "tags": [op.tag]}
    if op.description:
        entry["description"] = op.description
    parameters = _path_parameters(path, op.path) + _query_parameters(op.query)
    if parameters:
        entry["parameters"] = parameters
    if isinstance(op.body, Body):
        entry["requestBody"] = {"required": True, "content": op.body.content()}
    elif op.body is not None:
        bodies = op.body if isinstance(op.body, tuple) else (op.body,)
        schemas = [keys[(model, "validation")] for model in bodies]
        schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
        if op.body_rules:
            schema = {"allOf": [schema, *op.body_rules]}
        entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    if op.security:
        entry["security"] = [{name: [] for name in alternative} for alternative in op.security]
    entry["responses"] = _responses(op, keys, has_path_params=bool(_PATH_PARAM.search(path)))
    return entry


def _responses(op: Operation, keys: _Keys, *, has_path_params: bool) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for status, answer in sorted(op.responses.items()):
        if isinstance(answer, Body):
            answers[str(status)] = {"description": answer.description or "OK", "content": answer.content()}
        else:
            answers[str(status)] = {
                "description": answer.__doc__.strip().splitlines()[0] if answer.__doc__ else "OK",
                "content": {"application/json": {"schema": keys[(answer, "serialization")]}},
            }
    problems = set(op.problems)
    if op.security:
        problems.add(401)
    if has_path_params:
        problems.add(404)
    problem = {PROBLEM_JSON: {"schema": keys[(Problem, "serialization")]}}
    for status in sorted(problems):
        answers[str(status)] = {"description": _TITLES.get(status, "Problem"), "content": problem}
    return answers


def _path_parameters(path: str, model: type[BaseModel] | None) -> list[dict[str, Any]]:
    properties = _parameter_schemas(model)[0] if model else {}
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": properties.get(name, {"type": "string", "minLength": 1}),
        }
        for name in _PATH_PARAM.findall(path)
    ]


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    properties, required = _parameter_schemas(model)
    parameters = []
    for name, prop in properties.items():
        description = prop.pop("description", None)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _parameter_schemas(model: type[BaseModel]) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """Each field's schema as a parameter's: a query string has no ``null``, only absence."""
    schema = model.model_json_schema(schema_generator=EdgeSchema)
    properties = {}
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        prop.pop("title", None)
        branches = [b for b in prop.pop("anyOf", ()) if b != {"type": "null"}]
        if len(branches) == 1:
            prop.update(branches[0])
        elif branches:
            prop["anyOf"] = branches
        if prop.get("default", ...) is None:
            del prop["default"]
        properties[name] = prop
    return properties, set(schema.get("required", ()))
