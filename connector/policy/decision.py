"""The policy's answer for one case: what to do, with which parameters, and why.

A Decision is data the daemon stores beside the case (policy version, rule, trace) and turns into
outbox effects. Its trace is structured (for the audit log and the console) and renders as
English and Chinese lines, because reviewers read both.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Action(StrEnum):
    """What the seller does about a case (the casebook's closed set)."""

    approve_refund = "approve_refund"
    approve_return = "approve_return"
    confirm_return_and_refund = "confirm_return_and_refund"
    reject = "reject"
    ask_buyer_to_modify = "ask_buyer_to_modify"
    human = "human"
    wait = "wait"
    none = "none"


APPROVING_ACTIONS = frozenset(
    {Action.approve_refund, Action.approve_return, Action.confirm_return_and_refund}
)
"""Actions that let money or goods go: the ones a cap or a flagged buyer must never reach."""


class GuardStep(StrEnum):
    """Which step of the deadline guard (rule 11) changed the decision."""

    escalate = "escalate"
    """Little time left (``deadline_escalate``): wait/human escalate, ask falls back."""
    deadline_fallback = "deadline_fallback"
    """Almost no time left (``deadline_fallback``): a human takes the platform's timeout outcome."""


class OnDeadline(StrEnum):
    """What a rule's `human` does when the deadline guard's last step is reached."""

    platform_outcome = "platform_outcome"
    """Take, as the seller's own action, what the platform would do at its timeout (default)."""
    leave_to_platform = "leave_to_platform"
    """Do nothing and let the platform's timeout decide; counted as left, never as missed."""


class AttachKind(StrEnum):
    """Evidence the connector attaches to a rejection (assembled by the daemon, not the buyer)."""

    delivery_record = "delivery_record"
    logistics_trace = "logistics_trace"
    chat_record = "chat_record"
    inspection_report = "inspection_report"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DecisionParameters(_Frozen):
    """Everything the daemon needs to carry the action out."""

    refund_amount: int | None = Field(default=None, description="fen; set for approving actions")
    warehouse_void: bool = False
    carrier_claim: bool = False
    fallback: Action | None = Field(default=None, description="action taken at the deadline")
    return_shipping_paid_by: Literal["buyer", "seller"] | None = None
    evidence_kinds: tuple[AttachKind, ...] = ()
    escalated: bool = Field(default=False, description="a reviewer is alerted now")


# --------------------------------------------------------------------------------------------
# Trace steps. Values are stored language-neutral (enum values, numbers, ISO times); the two
# renderers add the words.

_ACTION_ZH = {
    Action.approve_refund: "同意退款",
    Action.approve_return: "同意退货",
    Action.confirm_return_and_refund: "确认收货并退款",
    Action.reject: "拒绝",
    Action.ask_buyer_to_modify: "请买家修改申请",
    Action.human: "转人工",
    Action.wait: "等待",
    Action.none: "无需处理",
}

_FIELD_ZH = {
    "platform": "平台",
    "shop_id": "店铺",
    "case_id": "售后单号",
    "order_id": "订单号",
    "item": "商品",
    "item.sku": "商品编码",
    "item.title": "商品名称",
    "item.category": "商品类目",
    "item.quantity": "数量",
    "item.price": "商品单价",
    "item.no_reason_eligible": "支持7天无理由",
    "type": "售后类型",
    "reason": "退款原因",
    "reason_text": "原因原文",
    "status": "售后状态",
    "order_status": "订单状态",
    "paid_amount": "实付金额",
    "refund_amount": "退款金额",
    "currency": "币种",
    "created_at": "申请时间",
    "updated_at": "更新时间",
    "deadline_at": "处理截止时间",
    "shipped_at": "发货时间",
    "delivered_at": "签收时间",
    "logistics": "物流",
    "logistics.status": "物流状态",
    "logistics.carrier": "快递公司",
    "logistics.waybill": "运单号",
    "return_logistics": "退货物流",
    "return_logistics.status": "退货物流状态",
    "inspection": "验货结果",
    "inspection.resellable": "验货可二次销售",
    "evidence": "买家凭证",
    "buyer.id": "买家",
    "buyer.refunds_90d": "买家90天退款次数",
    "buyer.flagged": "买家已被标记",
    "warehouse": "仓库",
    "warehouse.order_state": "仓库订单状态",
}

_OP_EN = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "present": "is present",
    "absent": "is absent (null)",
    "within": "is within",
    "older_than": "is more than",
    "has_any": "includes any of",
}

_OP_ZH = {
    "eq": "等于",
    "ne": "不等于",
    "in": "属于",
    "not_in": "不属于",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "present": "有值",
    "absent": "为空",
    "within": "距现在不超过",
    "older_than": "距现在超过",
    "has_any": "包含任一",
}


def action_zh(action: Action | str) -> str:
    return _ACTION_ZH.get(Action(action), str(action))


def field_zh(path: str) -> str:
    label = _FIELD_ZH.get(path)
    return f"{label}({path})" if label else path


def _span_en(seconds: int) -> str:
    sign = "-" if seconds < 0 else ""
    rest = abs(seconds)
    days, rest = divmod(rest, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if v]
    return sign + (" ".join(parts) or "0s")


def _span_zh(seconds: int) -> str:
    sign = "负" if seconds < 0 else ""
    rest = abs(seconds)
    days, rest = divmod(rest, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = ((days, "天"), (hours, "小时"), (minutes, "分钟"), (secs, "秒"))
    parts = [f"{v}{u}" for v, u in units if v]
    return sign + ("".join(parts) or "0秒")


class RuleMatched(_Frozen):
    """The first rule whose conditions all hold (its position counts from 1)."""

    kind: Literal["rule"] = "rule"
    rule_id: str
    position: int
    description: str
    description_zh: str = ""

    def en(self) -> str:
        return f"matched rule {self.rule_id} (#{self.position}): {self.description}"

    def zh(self) -> str:
        text = self.description_zh or self.description
        return f"命中规则 {self.rule_id}（第{self.position}条）：{text}"


class ConditionChecked(_Frozen):
    """One condition of the matched rule, with the value the case actually had."""

    kind: Literal["condition"] = "condition"
    rule_id: str
    field: str
    op: str
    expected: str = Field(description="the operand as written, with thresholds resolved")
    actual: str = Field(description="the case's value, language-neutral; 'null' when absent")
    passed: bool
    age_seconds: int | None = Field(
        default=None, description="for time conditions: how long before now the time was"
    )

    def _age(self, zh: bool) -> str:
        if self.age_seconds is None:
            return ""
        if zh:
            span = _span_zh(abs(self.age_seconds))
            return f"，{span}{'前' if self.age_seconds >= 0 else '后'}"
        span = _span_en(abs(self.age_seconds))
        return f", {span} {'ago' if self.age_seconds >= 0 else 'from now'}"

    def en(self) -> str:
        mark = "yes" if self.passed else "no"
        operand = "" if self.op in {"present", "absent"} else f" {self.expected}"
        operand += {"within": " of now", "older_than": " ago"}.get(self.op, "")
        return (
            f"  [{mark}] {self.field} {_OP_EN.get(self.op, self.op)}{operand}"
            f" (actual: {self.actual}{self._age(zh=False)})"
        )

    def zh(self) -> str:
        mark = "是" if self.passed else "否"
        operand = "" if self.op in {"present", "absent"} else f" {self.expected}"
        actual = "空" if self.actual == "null" else self.actual
        return (
            f"  [{mark}] {field_zh(self.field)} {_OP_ZH.get(self.op, self.op)}{operand}"
            f"（实际值：{actual}{self._age(zh=True)}）"
        )


class NoRuleMatched(_Frozen):
    """No rule matched: the engine sends the case to a person."""

    kind: Literal["no_match"] = "no_match"
    rules_checked: int

    def en(self) -> str:
        return f"no rule matched ({self.rules_checked} checked): a person decides"

    def zh(self) -> str:
        return f"没有规则命中（共检查{self.rules_checked}条）：转人工处理"


GuardNote = Literal[
    "wait_to_human",
    "human_escalated",
    "ask_to_fallback",
    "platform_outcome",
    "no_platform_outcome",
    "left_to_platform",
]

_GUARD_EN: dict[str, str] = {
    "wait_to_human": "nothing may wait any longer: a person takes it, reviewer alerted",
    "human_escalated": "reviewer alerted",
    "ask_to_fallback": "the buyer ran out of time to modify: the fallback applies",
    "platform_outcome": (
        "no reviewer in time: taking the platform's own timeout outcome as the seller's action,"
        " reviewer alerted"
    ),
    "no_platform_outcome": (
        "the platform has no seller timeout for this status: stays with a person, reviewer alerted"
    ),
    "left_to_platform": (
        "the matched rule leaves this case to the platform: nothing is sent, reviewer alerted"
    ),
}

_GUARD_ZH: dict[str, str] = {
    "wait_to_human": "不能再等：转人工并提醒审核员",
    "human_escalated": "已提醒审核员",
    "ask_to_fallback": "买家未在时限内修改申请：执行兜底动作",
    "platform_outcome": "无人及时处理：按平台超时的处理结果作为卖家动作执行，并提醒审核员",
    "no_platform_outcome": "该状态平台没有卖家超时规则：仍由人工处理，并提醒审核员",
    "left_to_platform": "命中的规则选择交由平台超时处理：不做任何提交，并提醒审核员",
}


class GuardApplied(_Frozen):
    """One step of the deadline guard (rule 11) and what it changed."""

    kind: Literal["guard"] = "guard"
    step: GuardStep
    seconds_left: int
    threshold_seconds: int
    note: GuardNote
    before: Action
    after: Action

    def en(self) -> str:
        left = (
            f"{_span_en(self.seconds_left)} left"
            if self.seconds_left >= 0
            else f"deadline passed {_span_en(-self.seconds_left)} ago"
        )
        change = f"{self.before} -> {self.after}" if self.before != self.after else f"{self.after}"
        return (
            f"deadline guard ({self.step}, at most {_span_en(self.threshold_seconds)} left):"
            f" {left}; {change}: {_GUARD_EN[self.note]}"
        )

    def zh(self) -> str:
        left = (
            f"剩余{_span_zh(self.seconds_left)}"
            if self.seconds_left >= 0
            else f"已超时{_span_zh(-self.seconds_left)}"
        )
        step = "提醒" if self.step is GuardStep.escalate else "超时兜底"
        change = (
            f"{action_zh(self.before)} → {action_zh(self.after)}"
            if self.before != self.after
            else action_zh(self.after)
        )
        return (
            f"超时保护（{step}，剩余不超过{_span_zh(self.threshold_seconds)}）：{left}；"
            f"{change}：{_GUARD_ZH[self.note]}"
        )


class Quarantined(_Frozen):
    """The payload failed validation: no rule was run; a person sees what is wrong."""

    kind: Literal["quarantine"] = "quarantine"
    problems: tuple[str, ...]

    def en(self) -> str:
        return "case failed validation, quarantined for a person: " + "; ".join(self.problems)

    def zh(self) -> str:
        return "售后单数据校验失败，已隔离并转人工：" + "；".join(self.problems)


class DaemonNote(_Frozen):
    """A check the daemon made after the policy (e.g. what is left to refund on the order)."""

    kind: Literal["note"] = "note"
    text_en: str
    text_zh: str

    def en(self) -> str:
        return self.text_en

    def zh(self) -> str:
        return self.text_zh


TraceStep = Annotated[
    RuleMatched | ConditionChecked | NoRuleMatched | GuardApplied | Quarantined | DaemonNote,
    Field(discriminator="kind"),
]

EXPECT_KEYS = (
    "action",
    "warehouse_void",
    "carrier_claim",
    "refund_amount",
    "fallback",
    "return_shipping_paid_by",
    "evidence_kinds",
    "escalated",
)
"""The casebook's ``expect`` keys, in the order ``Decision.expect_view`` lists them."""


class Decision(_Frozen):
    """The result of ``decide``: pure data, equal for equal inputs (trace and version included)."""

    action: Action
    parameters: DecisionParameters = DecisionParameters()
    rule_id: str | None = Field(description="the matched rule; None when none matched")
    guard: GuardStep | None = None
    deadline_fallback: bool = Field(
        default=False, description="the action is the platform's timeout outcome, taken by us"
    )
    left_to_platform: bool = Field(
        default=False, description="nothing is sent; the platform's timeout decides"
    )
    quarantined: bool = False
    trace: tuple[TraceStep, ...] = ()
    policy_version: str
    decided_at: AwareDatetime

    def expect_view(self) -> dict[str, Any]:
        """The decision in the casebook's ``expect`` keys (evidence kinds sorted)."""
        p = self.parameters
        return {
            "action": self.action.value,
            "warehouse_void": p.warehouse_void,
            "carrier_claim": p.carrier_claim,
            "refund_amount": p.refund_amount,
            "fallback": None if p.fallback is None else p.fallback.value,
            "return_shipping_paid_by": p.return_shipping_paid_by,
            "evidence_kinds": sorted(k.value for k in p.evidence_kinds),
            "escalated": p.escalated,
        }

    def trace_lines(self, lang: Literal["en", "zh"] = "en") -> list[str]:
        """The trace as readable lines, in English or Chinese."""
        return [step.en() if lang == "en" else step.zh() for step in self.trace]

    def summary(self, lang: Literal["en", "zh"] = "en") -> str:
        """One line: the action and the parameters that are set."""
        head = action_zh(self.action) if lang == "zh" else self.action.value
        extras = [
            f"{k}={','.join(v) if isinstance(v, list) else str(v).lower() if v is True else v}"
            for k, v in self.expect_view().items()
            if k != "action" and v not in (None, False, [])
        ]
        flags = [
            name
            for name, on in (
                ("deadline_fallback", self.deadline_fallback),
                ("left_to_platform", self.left_to_platform),
                ("quarantined", self.quarantined),
            )
            if on
        ]
        return " ".join([head, *extras, *flags])
