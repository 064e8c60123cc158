"""The policy engine: a seller's ordered rules (TOML) decide each refund case, purely.

    policy = load_policy(path)            # or load_default_policy(); PolicyError if broken
    decision = decide(case, policy, now)  # pure: no I/O, no wall clock

See docs/policy.md for the rule language and the default policy's choices.
"""

from __future__ import annotations

from connector.policy.decision import (
    APPROVING_ACTIONS,
    EXPECT_KEYS,
    Action,
    AttachKind,
    ConditionChecked,
    DaemonNote,
    Decision,
    DecisionParameters,
    GuardApplied,
    GuardStep,
    NoRuleMatched,
    OnDeadline,
    Quarantined,
    RuleMatched,
    TraceStep,
)
from connector.policy.engine import (
    decide,
    decide_for_person,
    decide_quarantined,
    platform_timeout_outcome,
)
from connector.policy.loader import (
    DEFAULT_POLICY_SOURCE,
    load_default_policy,
    load_policy,
    parse_policy,
)
from connector.policy.model import Policy, Rule
from connector.policy.unreachable import UnreachableRule, find_unreachable_rules

__all__ = [
    "APPROVING_ACTIONS",
    "DEFAULT_POLICY_SOURCE",
    "EXPECT_KEYS",
    "Action",
    "AttachKind",
    "ConditionChecked",
    "DaemonNote",
    "Decision",
    "DecisionParameters",
    "GuardApplied",
    "GuardStep",
    "NoRuleMatched",
    "OnDeadline",
    "Policy",
    "Quarantined",
    "Rule",
    "RuleMatched",
    "TraceStep",
    "UnreachableRule",
    "decide",
    "decide_for_person",
    "decide_quarantined",
    "find_unreachable_rules",
    "load_default_policy",
    "load_policy",
    "parse_policy",
    "platform_timeout_outcome",
]
