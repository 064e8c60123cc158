"""TOP request signing as the gateway checks it (platform-apis.md §1.2), written for the fake only.

Sorted ``key+value`` pairs with no separators over raw UTF-8; ``sign`` itself, file parts and
empty values are left out; then md5 (secret-wrapped), HMAC-MD5 or HMAC-SHA256, uppercase hex.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGN_METHODS = frozenset({"md5", "hmac", "hmac-sha256"})


def canonical_string(params: Mapping[str, str]) -> str:
    return "".join(
        f"{key}{value}" for key, value in sorted(params.items()) if key != "sign" and value
    )


def expected_signature(params: Mapping[str, str], secret: str, sign_method: str) -> str:
    """What ``sign`` must be for these (text) params; raises ValueError for an unknown method."""
    payload = canonical_string(params).encode("utf-8")
    key = secret.encode("utf-8")
    if sign_method == "md5":
        digest = hashlib.md5(key + payload + key).hexdigest()
    elif sign_method == "hmac":
        digest = hmac.new(key, payload, hashlib.md5).hexdigest()
    elif sign_method == "hmac-sha256":
        digest = hmac.new(key, payload, hashlib.sha256).hexdigest()
    else:
        msg = f"unknown sign_method {sign_method!r}"
        raise ValueError(msg)
    return digest.upper()


def signature_matches(params: Mapping[str, str], secret: str) -> bool:
    """Constant-time check of ``params['sign']`` (hex compared case-sensitively, as uppercase)."""
    method = params.get("sign_method", "")
    given = params.get("sign", "")
    if method not in SIGN_METHODS or not given:
        return False
    return hmac.compare_digest(expected_signature(params, secret, method), given)
