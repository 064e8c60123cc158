"""Policy history: every version that decides is kept by hash; installs are audited acts.

A person installs a policy (``policy install FILE [--shop S] --as NAME``); the store keeps its
text by content hash and the install with who and when. The decider asks ``with_live_policy``
for a shop's policy before every decision, so an install takes effect at the next decision of
any worker process, without a restart. A shop's latest install, or the latest for every shop,
whichever is newer, is live; with no install the configured file is live, and its text is
kept the first time it decides (tests/policy/test_policy_history.py).
"""

from __future__ import annotations

import dataclasses
import threading
import tomllib
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from connector.errors import PolicyError
from connector.policy.loader import parse_policy
from connector.policy.model import Policy
from connector.store.api import PolicyInstallRecord, PolicyRole

if TYPE_CHECKING:
    from connector.store.api import Store

CONFIG_ACTOR = "system"
"""Who first brought a configured policy file (it decided before anyone installed one)."""

POLICY_INSTALLED = "policy_installed"
POLICY_PROMOTED = "policy_promoted"


class HasPolicy(Protocol):
    @property
    def shop_id(self) -> str: ...

    policy: Policy


ShopT = TypeVar("ShopT", bound=HasPolicy)

_parsed: dict[str, Policy] = {}
_parsed_lock = threading.Lock()
_kept: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def stored_policy(store: Store, version: str) -> Policy:
    """The stored text of ``version``, parsed (once per process)."""
    with _parsed_lock:
        cached = _parsed.get(version)
    if cached is not None:
        return cached
    record = store.get_policy_version(version)
    if record is None:
        raise PolicyError(version, ["no such policy version in this state directory"])
    policy = parse_policy(record.text, f"{record.name}.toml")
    with _parsed_lock:
        _parsed[version] = policy
    return policy


def keep_version(store: Store, policy: Policy, *, actor: str = CONFIG_ACTOR) -> None:
    """Store ``policy``'s text by hash unless this process already did for this store."""
    kept = _kept.setdefault(store, set())
    if policy.version in kept:
        return
    store.record_policy_version(policy.version, name=policy.name, text=policy.text, actor=actor)
    kept.add(policy.version)


def live_policy(store: Store, shop_id: str, configured: Policy) -> Policy:
    """The policy that decides ``shop_id``'s next case."""
    install = store.current_policy_install(shop_id, PolicyRole.live)
    if install is None or install.version is None:
        keep_version(store, configured)
        return configured
    if install.version == configured.version:
        return configured
    return stored_policy(store, install.version)


def with_live_policy(store: Store, shop: ShopT) -> ShopT:
    """The decider's hook: ``shop`` with its live policy (the same object if unchanged)."""
    policy = live_policy(store, shop.shop_id, shop.policy)
    if policy is shop.policy:
        return shop
    return dataclasses.replace(shop, policy=policy)  # type: ignore[type-var]


def install(
    store: Store,
    policy: Policy,
    *,
    shop_id: str | None,
    actor: str,
    note: str = "",
    event: str = POLICY_INSTALLED,
    details: dict[str, Any] | None = None,
) -> PolicyInstallRecord:
    """Make ``policy`` live for one shop (or every shop), audited as ``event``."""
    if not policy.text:
        raise PolicyError(policy.source, ["the policy's text is unknown, so it cannot be kept"])
    return install_as(
        store, policy, PolicyRole.live, shop_id=shop_id, actor=actor, event=event, note=note,
        details={"rules": len(policy.rules), **(details or {})},
    )


def install_as(
    store: Store,
    policy: Policy,
    role: PolicyRole,
    *,
    shop_id: str | None,
    actor: str,
    event: str,
    note: str = "",
    details: dict[str, Any] | None = None,
) -> PolicyInstallRecord:
    """Record ``policy`` (its version, name and text) installed as ``role``, audited as
    ``event``."""
    return store.install_policy(
        policy.version, shop_id=shop_id, role=role, actor=actor, event=event,
        name=policy.name, text=policy.text, note=note, details=details,
    )


def resolve_version(store: Store, prefix: str) -> str:
    """A full version from a unique prefix (with or without ``sha256:``)."""
    wanted = prefix if prefix.startswith("sha256:") else f"sha256:{prefix}"
    matches = [v.version for v in store.policy_versions() if v.version.startswith(wanted)]
    if not matches:
        raise PolicyError(prefix, ["no stored policy version starts with this"])
    if len(matches) > 1:
        raise PolicyError(prefix, [f"ambiguous: {', '.join(matches)}"])
    return matches[0]


@dataclass(frozen=True)
class RuleChange:
    """How one rule (or the thresholds table) differs between two policy versions."""

    rule_id: str
    kind: str
    """``added``, ``removed``, ``changed`` or ``moved``."""
    changes: tuple[tuple[str, Any, Any], ...] = ()
    """(field, before, after) for each field that differs."""
    position: tuple[int | None, int | None] = (None, None)

    def lines(self) -> list[str]:
        before, after = self.position
        head = f"{self.kind} {self.rule_id}"
        if self.kind == "moved" or (self.kind == "changed" and before != after):
            head += f" (position {before} -> {after})"
        elif self.kind == "added":
            head += f" (position {after})"
        elif self.kind == "removed":
            head += f" (was position {before})"
        details = [f"    {key}: {_show(old)} -> {_show(new)}" for key, old, new in self.changes]
        return [head, *details]


def _show(value: Any) -> str:
    return "(unset)" if value is _UNSET else repr(value)


_UNSET: Any = type("_Unset", (), {"__repr__": lambda _self: "(unset)"})()


def _flatten(table: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(table, dict):
        for key, value in table.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                out.update(_flatten(value, path))
            else:
                out[path] = value
    return out


def _field_changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[tuple[str, Any, Any], ...]:
    keys = sorted(set(old) | set(new))
    pairs = [(k, old.get(k, _UNSET), new.get(k, _UNSET)) for k in keys]
    return tuple((k, a, b) for k, a, b in pairs if a != b)


def _rules_by_id(document: dict[str, Any]) -> dict[str, tuple[int, dict[str, Any]]]:
    rules = document.get("rules", [])
    return {str(r.get("id")): (i, _flatten(r)) for i, r in enumerate(rules, 1)}


def diff_policies(before: Policy, after: Policy) -> list[RuleChange]:
    """Rule by rule (matched by id), then thresholds: what a reviewer needs to approve a change."""
    old_doc, new_doc = tomllib.loads(before.text), tomllib.loads(after.text)
    old_rules = _rules_by_id(old_doc)
    new_rules = _rules_by_id(new_doc)
    changes: list[RuleChange] = []
    for rule_id, (position, fields) in new_rules.items():
        if rule_id not in old_rules:
            changes.append(RuleChange(rule_id, "added", (), (None, position)))
            continue
        old_position, old_fields = old_rules[rule_id]
        differ = _field_changes(old_fields, fields)
        if differ:
            changes.append(RuleChange(rule_id, "changed", differ, (old_position, position)))
        elif old_position != position:
            changes.append(RuleChange(rule_id, "moved", (), (old_position, position)))
    changes.extend(
        RuleChange(rule_id, "removed", (), (position, None))
        for rule_id, (position, _fields) in old_rules.items()
        if rule_id not in new_rules
    )
    thresholds = _field_changes(
        _flatten(old_doc.get("thresholds", {})), _flatten(new_doc.get("thresholds", {}))
    )
    if thresholds:
        changes.append(RuleChange("[thresholds]", "changed", thresholds))
    return changes
