"""JOS request signing and timestamps as the gateway checks them (platform-apis.md §2.1).

The signature covers every received parameter except ``sign`` - empty ones included, as JD's
SDKs sign whatever they send - sorted by name, joined as ``name+value`` with nothing between,
wrapped in the app secret on both sides, MD5, uppercase hex. There is no ``sign_method``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "GMT+8")
_PLAIN = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
# JDPY sends "%Y-%m-%d %H:%M:%S.000%z", the C# SDK "yyyy-MM-dd HH:mm:ss.fff+0800". An unencoded
# "+" in a query string arrives as a space, so a space stands for "+" before the offset.
_ZONED = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,6}))?"
    r"(?P<sign>[+\- ])(?P<hh>\d{2}):?(?P<mm>\d{2})$"
)


def jos_signature(params: Mapping[str, str], secret: str) -> str:
    body = "".join(name + params[name] for name in sorted(params) if name != "sign")
    return hashlib.md5(f"{secret}{body}{secret}".encode()).hexdigest().upper()


def signature_ok(params: Mapping[str, str], secret: str) -> bool:
    given = params.get("sign", "")
    return bool(given) and hmac.compare_digest(jos_signature(params, secret), given.upper())


def parse_jos_timestamp(text: str) -> datetime:
    """One of the three timestamp shapes JD clients send; ValueError names the bad input."""
    if _PLAIN.match(text):
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    zoned = _ZONED.match(text)
    if zoned is None:
        msg = f"timestamp {text!r} is not yyyy-MM-dd HH:mm:ss[.SSS+0800]"
        raise ValueError(msg)
    offset = timedelta(hours=int(zoned["hh"]), minutes=int(zoned["mm"]))
    if zoned["sign"] == "-":
        offset = -offset
    base = datetime.strptime(zoned["base"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone(offset))
    return base.replace(microsecond=int((zoned["frac"] or "0").ljust(6, "0")))
