"""JSON from the network, read with a depth limit that never recurses in Python.

``json.loads`` recurses in C and raises ``RecursionError`` somewhere past a thousand levels of
nesting (a traceback every poll for a body nested 200,000 deep, issue 14). Every parse of a
network answer checks the nesting first with ``json_depth_exceeds``: the platforms' answers
nest a dozen levels, the warehouse's three (tests/unit/test_rpc_body_limits.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

MAX_JSON_DEPTH = 64
"""The deepest nesting of arrays and objects accepted."""
_STRING_OR_BRACKET = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_OPENERS = frozenset(b"[{")


class JsonTooDeepError(ValueError):
    """The text nests arrays and objects deeper than allowed; it was not parsed."""


def json_depth_exceeds(content: bytes | bytearray, limit: int = MAX_JSON_DEPTH) -> bool:
    """Does the JSON text nest arrays/objects deeper than ``limit``? Never recurses.

    Cheap when the body has fewer brackets than ``limit`` (most answers); otherwise strings
    are skipped by one regular expression and only brackets are counted.
    """
    if content.count(b"[") + content.count(b"{") <= limit:
        return False
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(content):
        token = match.group()
        if len(token) != 1:
            continue  # a string: brackets inside it do not count
        if token[0] in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def loads_limited(
    content: bytes | bytearray,
    *,
    max_depth: int = MAX_JSON_DEPTH,
    parse_float: Callable[[str], Any] = float,
) -> Any:
    """``json.loads`` after the depth check: ``JsonTooDeepError`` (a ``ValueError``) when too
    deep, ``UnicodeDecodeError`` or ``ValueError`` as ``json.loads`` raises them otherwise."""
    if json_depth_exceeds(content, max_depth):
        msg = f"the JSON nests deeper than {max_depth} levels"
        raise JsonTooDeepError(msg)
    try:
        return json.loads(content, parse_float=parse_float)
    except RecursionError as exc:  # never expected past the check; never a traceback either
        msg = "the JSON nests too deep to read"
        raise JsonTooDeepError(msg) from exc
