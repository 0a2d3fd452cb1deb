"""The headers an endpoint's deliveries start from: configured ones, ours, never twice."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.dispatch.dispatcher import Target
from gateway.routing import EndpointConfig


def _target(headers: dict[str, str]) -> Target:
    return Target("https://example.com/hook", headers, (), 16, None)


def test_our_content_type_unless_the_endpoint_configures_one_in_any_case() -> None:
    assert _target({"x-token": "t"}).base_headers == {"content-type": "application/json", "x-token": "t"}
    configured = _target({"Content-Type": "application/vnd.acme+json"}).base_headers
    assert [k for k in configured if k.lower() == "content-type"] == ["Content-Type"]
    assert configured["Content-Type"] == "application/vnd.acme+json"


@pytest.mark.parametrize("name", ["webhook-id", "Webhook-Signature", "WEBHOOK-TIMESTAMP"])
def test_an_endpoint_cannot_configure_the_gateways_own_headers(name: str) -> None:
    with pytest.raises(ValidationError, match="set by the gateway"):
        EndpointConfig.model_validate({"name": "e", "url": "https://example.com/hook", "headers": {name: "x"}})
