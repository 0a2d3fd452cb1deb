"""Standard Webhooks v1 signatures (SPEC §7.1).

``webhook-signature`` carries one ``v1,<base64 HMAC-SHA256>`` per active secret, separated
by spaces, so a receiver rotating keys accepts the request while it trusts either one.
The HMAC covers ``"{msg_id}.{timestamp}."`` followed by the body *bytes exactly as sent*:
the body is never decoded or re-serialised here, because any change breaks the signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
SCHEME = "v1"


def secret_key(secret: str) -> bytes:
    """The HMAC key a configured secret stands for.

    ``whsec_<base64>`` is the Standard Webhooks form: the key is the decoded base64. A
    secret without the prefix is still decoded as base64 first, because that is what the
    reference libraries do with any string (``Webhook("c2VjcmV0")`` keys on ``b"secret"``),
    so a receiver using them verifies. Only when the text cannot be base64 at all (say
    ``"my shared passphrase"``) do we key on its UTF-8 bytes: a receiver configured with a
    plain passphrase computes a plain HMAC over it, and failing the delivery instead would
    punish a legitimate, if non-standard, secret.
    """
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        # Unpadded base64 is common in hand-made secrets; the reference library pads too.
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        key = raw.encode("utf-8")
    if not key:
        # Never echo the secret: this message may reach a log.
        raise ValueError("webhook secret is empty")
    return key


def _sign_with(keyed: hmac.HMAC, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature over ``{msg_id}.{timestamp}.{body}``, from a keyed HMAC."""
    mac = keyed.copy()
    mac.update(f"{msg_id}.{timestamp}.".encode())
    # update() instead of concatenation: no copy of a possibly large body.
    mac.update(body)
    return f"{SCHEME},{base64.b64encode(mac.digest()).decode('ascii')}"


class Signer:
    """The signatures of one endpoint's secrets, keyed once: deliveries are the hot path,
    and decoding each secret and keying a fresh HMAC per attempt is most of a signature's cost."""

    __slots__ = ("_keyed",)

    def __init__(self, secrets: Sequence[str]) -> None:
        if not secrets:
            raise ValueError("no secrets to sign with")
        self._keyed = tuple(hmac.new(secret_key(s), digestmod=hashlib.sha256) for s in secrets)

    def header(self, msg_id: str, timestamp: int, body: bytes) -> str:
        """The ``webhook-signature`` value: one signature per secret, space-separated, in order."""
        return " ".join([_sign_with(keyed, msg_id, timestamp, body) for keyed in self._keyed])


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated, in order.

    ``timestamp`` is the attempt's own unix time (the ``webhook-timestamp`` header), so a
    retry is signed afresh. An empty ``secrets`` is a caller bug (an endpoint without a
    secret sends no signature header at all), hence ``ValueError`` rather than ``""``.
    """
    return Signer(secrets).header(msg_id, timestamp, body)
