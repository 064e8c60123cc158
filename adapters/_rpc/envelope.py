"""Reading nested gateway envelopes; a missing or mistyped part names its path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.errors import MalformedPayloadError


def require_mapping(value: Any, path: str, **context: str | None) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else ``MalformedPayloadError`` naming ``path``."""
    if not isinstance(value, Mapping):
        msg = f"expected an object, got {type(value).__name__}"
        raise MalformedPayloadError(msg, field=path, **context)
    return value


def dig(body: Any, *path: str, required: bool = True, **context: str | None) -> Any:
    """``body[p0][p1]...``; a missing key is ``MalformedPayloadError`` unless not ``required``."""
    current = body
    walked: list[str] = []
    for key in path:
        current = require_mapping(current, ".".join(walked) or "(body)", **context)
        walked.append(key)
        if key not in current:
            if not required:
                return None
            raise MalformedPayloadError("is missing", field=".".join(walked), **context)
        current = current[key]
    return current


def unwrap_list(container: Any, outer: str, inner: str, **context: str | None) -> list[Any]:
    """The platform's doubly wrapped list ``{outer: {inner: [...]}}``; absent means empty."""
    if not isinstance(container, Mapping):
        raise MalformedPayloadError("expected an object", field=outer, **context)
    wrapper = container.get(outer)
    if wrapper is None or wrapper == {}:
        return []
    wrapper = require_mapping(wrapper, outer, **context)
    items = wrapper.get(inner, [])
    if isinstance(items, Mapping):  # a single element is sometimes not wrapped in a list
        return [items]
    if not isinstance(items, list):
        msg = f"expected a list, got {type(items).__name__}"
        raise MalformedPayloadError(msg, field=f"{outer}.{inner}", **context)
    return items
