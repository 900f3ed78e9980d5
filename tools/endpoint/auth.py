"""Shared Access Signature validation, independent of the project's code
(hmac/hashlib/base64/urllib only), and the DPS group-key derivation.

A token is ``SharedAccessSignature sr=..&sig=..&se=..[&skn=..]``; the
signature is over ``<sr exactly as sent>\\n<se>`` (so lower- or upper-case
percent hex both verify when signed as sent)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence
from urllib.parse import quote, unquote_plus

from .common import iso as _iso

class AuthError(Exception):
    """A 401: ``code`` is the check that failed, ``message`` explains it."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def detail(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class SigningKey:
    """One acceptable HMAC key.

    ``hmac_key`` is what the service really signs with; ``wrong_mode_key`` is
    what a client using the other service's key mode would have used (only for
    a helpful hint in the 401 detail, never accepted)."""

    hmac_key: bytes
    wrong_mode_key: Optional[bytes] = None


def raw_key(text: str) -> SigningKey:
    """Event Hubs / Service Bus: the key text's own bytes are the HMAC key."""
    decoded = None
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    return SigningKey(text.encode("utf-8"), decoded or None)


def decoded_key(text: str) -> SigningKey:
    """IoT Hub: the base64-decoded key bytes are the HMAC key.

    Raises ValueError (without the key in the message) if not base64."""
    try:
        decoded = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("key is not valid base64") from None
    if not decoded:
        raise ValueError("key is empty")
    return SigningKey(decoded, text.strip().encode("utf-8"))


def parse_sas_token(authorization: Optional[str]) -> dict:
    """Split ``SharedAccessSignature sr=..&sig=..&se=..[&skn=..]`` into its raw
    (still percent-encoded) fields.  Fields may come in any order."""
    if authorization is None or not authorization.strip():
        raise AuthError("MissingToken", "no Authorization header with a SharedAccessSignature")
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme.lower() != "sharedaccesssignature":
        raise AuthError(
            "MalformedToken", "the Authorization header must start with 'SharedAccessSignature '"
        )
    fields: dict = {}
    for part in rest.strip().split("&"):
        if not part:
            continue
        name, eq, value = part.partition("=")
        name = name.strip()
        if not eq or not name:
            raise AuthError("MalformedToken", f"token field {name or part!r} has no '='")
        if name in fields:
            raise AuthError("MalformedToken", f"token field {name!r} appears twice")
        fields[name] = value.strip()
    missing = [f for f in ("sr", "sig", "se") if not fields.get(f)]
    if missing:
        raise AuthError("MalformedToken", "token lacks " + ", ".join(missing))
    return fields


def _sign(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode("ascii")


def _strip_scheme(uri: str) -> str:
    low = uri.lower()
    for scheme in ("https://", "http://", "sb://", "amqps://"):
        if low.startswith(scheme):
            return low[len(scheme):]
    return low


def audience_matches(signed_uri: str, resource: str) -> bool:
    """True when ``signed_uri`` (decoded sr) is a path-segment prefix of
    ``resource``; schemes are ignored, comparison is case-insensitive."""
    a = _strip_scheme(signed_uri).rstrip("/")
    r = _strip_scheme(resource).rstrip("/")
    return bool(a) and (r == a or r.startswith(a + "/"))


def _signature_hint(fields: dict, sig: str, keys: Sequence[SigningKey], se_raw: str, iot: bool) -> str:
    """Explain the common ways a signature goes wrong, without leaking keys."""
    sr_raw = fields["sr"]
    if " " in sig:
        return " (sig contains a raw '+', which arrives as a space: percent-encode sig)"
    if sig.endswith("\n") or sig.endswith("\r\n"):
        return " (sig ends with a newline: binascii.b2a_base64 adds one)"
    message = (sr_raw + "\n" + se_raw).encode("utf-8")
    for key in keys:
        if key.wrong_mode_key and hmac.compare_digest(_sign(key.wrong_mode_key, message), sig):
            if iot:
                return (" (the signature was made with the key text's ASCII bytes; "
                        "IoT Hub signs with the base64-DECODED key)")
            return (" (the signature was made with the base64-decoded key; Event Hubs/"
                    "Service Bus sign with the key text's ASCII bytes, not decoded)")
    decoded_sr = unquote_plus(sr_raw)
    variants = {
        decoded_sr,
        quote(decoded_sr, safe=""),
        quote(decoded_sr, safe="").lower(),
        re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), sr_raw),
        re.sub(r"%[0-9a-f]{2}", lambda m: m.group(0).upper(), sr_raw),
    } - {sr_raw}
    for variant in variants:
        msg = (variant + "\n" + se_raw).encode("utf-8")
        for key in keys:
            if hmac.compare_digest(_sign(key.hmac_key, msg), sig):
                return (" (the signature is over a different encoding of sr than the sr "
                        "that was sent: sign exactly the bytes you send)")
        for key in keys:
            if hmac.compare_digest(_sign(key.hmac_key, (variant + "\r\n" + se_raw).encode()), sig):
                return " (the string to sign must use LF, not CRLF)"
    return ""


def verify_sas(
    authorization: Optional[str],
    *,
    resource: str,
    now: float,
    keys_by_name: Mapping[Optional[str], Sequence[SigningKey]],
    require_key_name: bool,
    iot: bool = False,
    unknown_name_message: Optional[str] = None,
) -> dict:
    """Validate a SAS token for ``resource``; return its decoded fields.

    ``keys_by_name`` maps the token's skn (``None`` = no skn) to the keys that
    may have signed it.  Checks, in order: well-formed, key name, signature,
    expiry, audience.  Raises AuthError naming the failed check."""
    fields = parse_sas_token(authorization)
    se_raw = fields["se"]
    if not (se_raw.isascii() and se_raw.isdigit()):
        raise AuthError("MalformedToken", "se must be whole seconds since 1970 (digits only)")
    skn = unquote_plus(fields["skn"]) if "skn" in fields else None
    if require_key_name and skn is None:
        raise AuthError("MissingKeyName", "token has no skn (shared access policy name)")
    keys = keys_by_name.get(skn)
    if not keys:
        if unknown_name_message is not None:
            raise AuthError("UnknownKeyName", unknown_name_message.format(skn=skn))
        raise AuthError("UnknownKeyName", f"no shared access policy named {skn!r}")
    sig = unquote_plus(fields["sig"])
    message = (fields["sr"] + "\n" + se_raw).encode("utf-8")
    if not any(hmac.compare_digest(_sign(k.hmac_key, message), sig) for k in keys):
        hint = _signature_hint(fields, sig, keys, se_raw, iot)
        raise AuthError("InvalidSignature", "the token signature is invalid" + hint)
    se = int(se_raw)
    if se <= now:
        raise AuthError(
            "ExpiredToken",
            f"the token expired at se={se} ({_iso(se)}); server time is {int(now)} ({_iso(now)})",
        )
    signed_uri = unquote_plus(fields["sr"])
    if not audience_matches(signed_uri, resource):
        raise AuthError(
            "InvalidAudience", f"token audience {signed_uri!r} does not cover {resource!r}"
        )
    return {"sr": signed_uri, "se": se, "skn": skn}


def derive_device_key(group_key: str, registration_id: str) -> str:
    """DPS enrollment groups: base64(HMAC-SHA256(base64decode(group key), registration id))."""
    mac = hmac.new(base64.b64decode(group_key), registration_id.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")
