"""The case fields a policy may test, derived from the canonical model so the two never drift.

Each field has a kind (what operators make sense) and, for closed sets, its allowed values; the
loader uses these to refuse a condition on an unknown field or with an impossible value.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AwareDatetime, BaseModel

from connector.models import Evidence, RefundCase

FieldKind = Literal["enum", "int", "bool", "str", "datetime", "evidence", "object"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A testable case field: dotted path, kind, closed values and whether it may be null."""

    path: str
    kind: FieldKind
    values: tuple[str, ...] = ()
    nullable: bool = False


_SKIPPED = frozenset({"platform_fields"})


def _strip_annotated(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    annotation = _strip_annotated(annotation)
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _strip_annotated(args[0]), True
    return annotation, False


def _walk(model: type[BaseModel], prefix: str, parent_nullable: bool) -> list[FieldSpec]:
    specs: list[FieldSpec] = []
    for name, info in model.model_fields.items():
        if not prefix and name in _SKIPPED:
            continue
        path = f"{prefix}{name}"
        annotation, optional = _unwrap_optional(info.annotation)
        nullable = optional or parent_nullable
        origin = get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            specs.append(FieldSpec(path, "object", nullable=nullable))
            specs.extend(_walk(annotation, f"{path}.", nullable))
        elif origin is tuple and get_args(annotation)[:1] == (Evidence,):
            specs.append(FieldSpec(path, "evidence"))
        elif origin is Literal:
            specs.append(
                FieldSpec(path, "enum", tuple(str(a) for a in get_args(annotation)), nullable)
            )
        elif isinstance(annotation, type) and issubclass(annotation, Enum):
            values = tuple(str(member.value) for member in annotation)
            specs.append(FieldSpec(path, "enum", values, nullable))
        elif annotation is bool:
            specs.append(FieldSpec(path, "bool", nullable=nullable))
        elif annotation is int:
            specs.append(FieldSpec(path, "int", nullable=nullable))
        elif annotation is str:
            specs.append(FieldSpec(path, "str", nullable=nullable))
        elif annotation in (datetime, AwareDatetime):
            specs.append(FieldSpec(path, "datetime", nullable=nullable))
    return specs


CASE_FIELDS: Mapping[str, FieldSpec] = {spec.path: spec for spec in _walk(RefundCase, "", False)}
"""Every dotted path of ``RefundCase`` a condition may name."""

EVIDENCE_KINDS: tuple[str, ...] = next(
    (s.values for s in _walk(Evidence, "", False) if s.path == "kind"), ()
)


def field_value(case: RefundCase, path: str) -> Any:
    """The value at a dotted path; None when it or any parent is null."""
    value: Any = case
    for part in path.split("."):
        if value is None:
            return None
        value = getattr(value, part)
    if isinstance(value, tuple) and path == "evidence":
        return sorted({str(e.kind) for e in value})
    if isinstance(value, Enum):
        return value.value
    return value


def render_value(value: Any) -> str:
    """A language-neutral rendering for traces: enum values, numbers, ISO times, 'null'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple | frozenset | set):
        return "[" + ", ".join(sorted(render_value(v) for v in value)) + "]"
    if isinstance(value, BaseModel):
        return "present"
    return str(value)
