"""Which keys carry buyer personal data or secrets, so the store never keeps them.

Platform payloads legitimately contain names, phones and addresses (de-identified or not); the
store scrubs them from raw payloads before saving, and the audit log refuses them outright.
Detection is by key name, split into words (``buyer_nick``, ``receiverMobile``, ``session-key``).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

REDACTED = "[redacted]"

_ALWAYS_PRIVATE_WORDS = frozenset(
    {
        "nick",
        "nickname",
        "phone",
        "mobile",
        "tel",
        "telephone",
        "address",
        "addr",
        "receiver",
        "consignee",
        "idcard",
        "session",
        "secret",
        "token",
        "password",
        "passwd",
        "sign",
        "signature",
        "cookie",
        "authorization",
    }
)
_PERSON_WORDS = frozenset({"buyer", "receiver", "real", "full", "contact", "user", "customer"})
_SECRET_KEYS = frozenset({"apikey", "appsecret", "accesstoken"})
_SECRET_WORDS = frozenset(
    {"session", "secret", "token", "password", "passwd", "sign", "signature", "cookie"}
)

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[^A-Za-z0-9]+")
_MOBILE_NUMBER = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")


def mask_phone_numbers(text: str) -> str:
    """Backstop for any text: mainland mobile numbers become ``[redacted]``."""
    return _MOBILE_NUMBER.sub(REDACTED, text)


_CJK = "\u4e00-\u9fff"
_LANDLINE = re.compile(r"(?<![0-9])(?:\(0\d{2,3}\)|0\d{2,3})[- ]?\d{7,8}(?:-\d{1,5})?(?![0-9])")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])|(?<![0-9])\d{15}(?![0-9])")
_LABELLED_NAME = re.compile(
    rf"(收件人|收货人|联系人|姓名|户名)(\s*[:：]?\s*)[{_CJK}·]{{1,5}}"
)
_WECHAT = re.compile(
    r"(微信号?|威信|薇信|[Vv][Xx]|[Ww][Xx]|[Ww]e[Cc]hat|[Vv]信)(\s*(?:号)?\s*[:：]?\s*)"
    r"[A-Za-z0-9][-_A-Za-z0-9]{4,19}"
)
_LABELLED_ADDRESS = re.compile(r"(地址|住址|收货地址|寄到)(\s*[:：]?\s*)[^，。,;；!！?？\n]+")
_ADDRESS = re.compile(
    rf"[{_CJK}]{{0,8}}(?:省|自治区|市|区|县|旗)[{_CJK}0-9]{{0,16}}?"
    rf"(?:路|街|道|巷|弄|村|镇|乡|小区|大厦|花园)[{_CJK}0-9A-Za-z\-]{{0,16}}?"
    rf"(?:[0-9]+\s*(?:号楼?|室|栋|幢|单元|楼|层)|号|室)"
    rf"(?:[0-9A-Za-z\-]*(?:号|室|栋|幢|单元|楼|层))*"
)
FREE_TEXT_WORDS = frozenset(
    {"reason", "desc", "description", "content", "message", "memo", "remark", "text",
     "comment", "note", "body", "says"}
)
"""Keys whose values are typed by people: masked with ``mask_free_text`` before storing."""


def mask_free_text(text: str) -> str:
    """Personal data a buyer may type into free text, replaced by ``[redacted]`` before it is
    stored or shown: mobile and landline numbers, 15/18-digit ID numbers, WeChat ids, a name
    after 收件人/姓名/联系人, an address (labelled, or shaped like 省/市/区 … 路/街 … 号).

    The label is kept so a reviewer still reads what was there. Idempotent; text without such
    data is returned unchanged. Guarded by tests/console/test_privacy_properties.py (properties).
    """
    masked = _ID_NUMBER.sub(REDACTED, text)
    masked = _MOBILE_NUMBER.sub(REDACTED, masked)
    masked = _LANDLINE.sub(REDACTED, masked)
    masked = _WECHAT.sub(lambda m: m.group(1) + m.group(2) + REDACTED, masked)
    masked = _LABELLED_ADDRESS.sub(_keep_label, masked)
    masked = _ADDRESS.sub(REDACTED, masked)
    return _LABELLED_NAME.sub(_keep_label, masked)


def _keep_label(match: re.Match[str]) -> str:
    return match.group(1) + match.group(2) + REDACTED


def key_words(key: str) -> list[str]:
    """``receiverMobile`` -> ["receiver", "mobile"]; ``buyer_nick`` -> ["buyer", "nick"]."""
    return [w.lower() for w in _WORD_BOUNDARY.split(key) if w]


@lru_cache(maxsize=4096)
def is_private_key(key: str) -> bool:
    """True when a key names buyer personal data or a secret.

    Cached (bounded: a hostile payload may bring any keys): the keys seen are few, and every
    audit entry and stored payload asks about each of its keys (a tenth of a decision's CPU
    before; found by profiling the decider).
    """
    words = key_words(key)
    if not words:
        return False
    if "".join(words) in _SECRET_KEYS:
        return True
    if words[-1] in {"id", "ids"} and len(words) > 1:
        # A reference (``address_id``: the seller's return address), not the data itself.
        return any(w in _SECRET_WORDS for w in words)
    if any(w in _ALWAYS_PRIVATE_WORDS for w in words):
        return True
    if "name" in words:
        return len(words) == 1 or any(w in _PERSON_WORDS for w in words)
    return False


def _is_free_text_key(key: str) -> bool:
    return any(w in FREE_TEXT_WORDS for w in key_words(key))


def private_paths(value: Any, path: str = "") -> list[str]:
    """Dotted paths of every private key inside nested dicts and lists."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            here = f"{path}.{key}" if path else str(key)
            if is_private_key(str(key)):
                found.append(here)
            else:
                found.extend(private_paths(inner, here))
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            found.extend(private_paths(inner, f"{path}[{index}]"))
    return found


def scrub(value: Any) -> Any:
    """A copy with private keys' values and phone numbers in text replaced (raw payloads);
    non-finite numbers (NaN, Infinity) are kept as text so the payload can always be stored."""
    if isinstance(value, dict):
        return {
            key: (
                REDACTED
                if is_private_key(str(key))
                else mask_free_text(inner)
                if isinstance(inner, str) and _is_free_text_key(str(key))
                else scrub(inner)
            )
            for key, inner in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(inner) for inner in value]
    if isinstance(value, str):
        return mask_phone_numbers(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
