"""Standard Webhooks v1 signatures, checked against the reference library."""

from __future__ import annotations

import base64
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway.dispatch.signing import secret_key, signature_header

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_" + base64.b64encode(b"an older key of twenty-four+ bytes").decode()


def headers(msg_id: str, ts: int, signature: str) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def test_matches_the_published_vector() -> None:
    """The example from the Standard Webhooks / Svix docs signs to its published value."""
    sig = signature_header([SECRET], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_reference_library_verifies_the_exact_bytes() -> None:
    """Odd spacing and non-ASCII survive: the bytes are signed as given, never re-serialised."""
    body = '{"a":1,   "b" : "€ ü"}\n'.encode()
    ts = int(time.time())
    sig = signature_header([SECRET], "evt_1", ts, body)
    assert Webhook(SECRET).verify(body, headers("evt_1", ts, sig)) == {"a": 1, "b": "€ ü"}
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace(b"   ", b" "), headers("evt_1", ts, sig))


def test_rotation_sends_one_signature_per_secret_and_each_verifies() -> None:
    body, ts = b'{"x":true}', int(time.time())
    sig = signature_header([SECRET, OLD_SECRET], "evt_2", ts, body)
    assert len(sig.split(" ")) == 2 and all(part.startswith("v1,") for part in sig.split(" "))
    for secret in (SECRET, OLD_SECRET):
        Webhook(secret).verify(body, headers("evt_2", ts, sig))
    stranger = "whsec_" + base64.b64encode(b"somebody else's key, 24 bytes").decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(stranger).verify(body, headers("evt_2", ts, sig))


def test_unpadded_base64_means_the_same_key() -> None:
    assert secret_key("whsec_c2VjcmV0") == b"secret"  # padding restored
    assert secret_key("whsec_c2VjcmV0") == secret_key("whsec_c2VjcmV0Cg==")[:-1]


@pytest.mark.parametrize(
    "secret",
    [
        "my shared passphrase!",  # no prefix, not base64
        "c2VjcmV0",  # base64 without the prefix
        "whsec_my shared passphrase",  # the reference library would drop the spaces: another key
        "whsec_c2Vj-mV0_w",  # URL-safe alphabet: the reference library drops - and _
        "whsec_",
    ],
)
def test_a_secret_standard_webhooks_receivers_cannot_use_is_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="whsec_") as refused:
        secret_key(secret)
    assert secret.removeprefix("whsec_") not in str(refused.value) or secret == "whsec_"


@pytest.mark.parametrize("secrets", [[], ["whsec_"], [""]])
def test_missing_or_empty_secret_is_a_caller_error(secrets: list[str]) -> None:
    with pytest.raises(ValueError, match="secret"):
        signature_header(secrets, "evt", 1, b"{}")


@given(key=st.binary(min_size=24, max_size=64), text=st.text(max_size=200), msg_id=st.uuids())
def test_any_key_and_utf8_body_verify_with_the_reference_library(key: bytes, text: str, msg_id: object) -> None:
    secret = "whsec_" + base64.b64encode(key).decode()
    body, ts = text.encode(), int(time.time())
    sig = signature_header([secret], f"evt_{msg_id}", ts, body)
    Webhook(secret).verify(body, headers(f"evt_{msg_id}", ts, sig), json_parse=False)
