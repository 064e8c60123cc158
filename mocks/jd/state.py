"""The JD fake's ground truth: shops, refund applications, service orders, timers, changes.

Indexed for thousands of cases: records by id, per-shop status sets for the audit and status
lists, and a per-shop list sorted by update time for ``asc.sync.list``; deadlines sit in a
``DeadlineQueue`` so timers cost nothing when none is due. Callers hold ``self.lock``.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from datetime import datetime, timedelta
from typing import Any, ClassVar, cast

from mocks.jd import codes as c
from mocks.jd.config import JdConfig, JdShop
from mocks.jd.records import Buyer, Order, Parcel, RefundApply, ServiceOrder
from mocks.jd.wire import epoch_ms
from mocks.kit.casespec import CaseSpec
from mocks.kit.clock import ClockLike
from mocks.kit.journal import JsonDict
from mocks.kit.platform import FakePlatform, iso
from mocks.kit.timers import DeadlineQueue

APPLY_ID_BASE = 800_000_000  # refund application ids: 800000001, ... [I]
SERVICE_ID_BASE = 1_900_000_000  # service ids: 1900000001, ... (disjoint from the above) [I]
ORDER_ID_BASE = 290_000_000_000
SKU_ID_BASE = 100_000_000
SYSTEM_AUDITOR = "系统自动审核"
_COURIERS = ("JD", "SF", "ZTO", "YTO")

# serviceStatus a CaseSpec status starts in (after shipment)
_SERVICE_START: dict[str, int] = {
    "awaiting_seller": c.PENDING_AUDIT,
    "awaiting_buyer_return": c.AWAIT_SEND,
    "awaiting_seller_receipt": c.AWAIT_RECEIPT,
    "refused": c.REFUSED,
    "in_dispute": c.JD_INTERVENING,
    "refunded": c.COMPLETED,
    "closed": c.CANCELLED,
}
# refund application status a CaseSpec status starts in (before shipment)
_APPLY_START: dict[str, int] = {"awaiting_seller": 0, "refused": 2, "refunded": 3, "closed": 11}


def split_fen(total: int, parts: int) -> list[int]:
    """``total`` fen over ``parts`` units; the first units take the remainder."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


class JdMock(FakePlatform):
    """State of one fake JOS platform (any number of shops)."""

    platform = "jd"
    ban_error: ClassVar[dict[str, Any]] = {"code": "2"}  # the call-limit ban, "N秒后解除"

    def __init__(self, config: JdConfig | None = None, clock: ClockLike | None = None) -> None:
        super().__init__(clock)
        self.config = config or JdConfig()
        self.shops: dict[str, JdShop] = {}
        self.tokens: dict[str, str] = {}
        self.applies: dict[int, RefundApply] = {}
        self.services: dict[int, ServiceOrder] = {}
        self.orders: dict[int, Order] = {}
        self.timers = DeadlineQueue()
        self._apply_by_status: dict[str, dict[int, set[int]]] = {}
        self._service_by_status: dict[str, dict[int, set[int]]] = {}
        self._service_by_updated: dict[str, list[tuple[int, int]]] = {}
        self._rng = random.Random(self.config.seed)
        self._serial = 0
        for shop in self.config.shops:
            self.add_shop(shop)

    # -- shops -------------------------------------------------------------------------------
    def add_shop(self, shop: JdShop) -> JdShop:
        owner = self.tokens.get(shop.access_token)
        if owner is not None and owner != shop.shop_id:
            msg = f"access_token {shop.access_token!r} already belongs to shop {owner}"
            raise ValueError(msg)
        old = self.shops.get(shop.shop_id)
        if old is not None:
            self.tokens.pop(old.access_token, None)
        self.shops[shop.shop_id] = shop
        self.tokens[shop.access_token] = shop.shop_id
        self._apply_by_status.setdefault(shop.shop_id, {})
        self._service_by_status.setdefault(shop.shop_id, {})
        self._service_by_updated.setdefault(shop.shop_id, [])
        return shop

    def shop_for_token(self, token: str | None) -> JdShop | None:
        shop_id = self.tokens.get(token or "")
        return None if shop_id is None else self.shops[shop_id]

    def _shop_for_spec(self, shop_id: str) -> JdShop:
        shop = self.shops.get(shop_id)
        if shop is None:
            bu_id = str(10001 + len(self.shops))
            shop = self.add_shop(JdShop(shop_id, f"{self.config.access_token}-{shop_id}", bu_id))
        return shop

    def default_shops(self) -> list[str]:
        return list(self.shops)

    def oaid(self, buyer_id: str) -> str:
        """Pseudonymous per-app buyer id (``oaid`` / ``open_id_buyer``), same in both families."""
        digest = hashlib.sha256(f"jd:{self.config.app_key}:{buyer_id}".encode()).hexdigest()
        return f"o{digest[:31]}"

    # -- creation ----------------------------------------------------------------------------
    def _next(self) -> int:
        self._serial += 1
        return self._serial

    def add_specs(self, specs: list[CaseSpec]) -> list[str]:
        taken = {str(k) for k in self.applies} | {str(k) for k in self.services}
        for index, spec in enumerate(specs):
            self._check_spec(spec, index, taken)
        now = self.now()
        ids: list[str] = []
        for spec in specs:
            if spec.type == "refund_only" and spec.order_status == "not_shipped":
                ids.append(self._create_apply(spec, now))
            else:
                ids.extend(self._create_services(spec, now))
        return ids

    @staticmethod
    def _check_spec(spec: CaseSpec, index: int, taken: set[str]) -> None:
        where = f"cases[{index}]"
        if spec.case_id is not None:
            if not spec.case_id.isdigit() or int(spec.case_id) == 0:
                msg = f"{where}.case_id must be a positive integer (JD ids are numbers)"
                raise ValueError(msg)
            if spec.case_id in taken:
                msg = f"{where}.case_id {spec.case_id} already exists"
                raise ValueError(msg)
            taken.add(spec.case_id)
        if spec.order_status == "not_shipped":
            if spec.type != "refund_only":
                msg = f"{where}: a {spec.type} needs a shipped order (order_status)"
                raise ValueError(msg)
            if spec.status not in _APPLY_START:
                msg = (
                    f"{where}: status {spec.status} cannot happen to a JD cancel-before-shipment "
                    f"refund application; use one of {sorted(_APPLY_START)}"
                )
                raise ValueError(msg)

    def _buyer(self, spec: CaseSpec, serial: int) -> Buyer:
        buyer_id = spec.buyer_id or f"b-{serial:05d}"
        return Buyer(
            pin=f"jd_{buyer_id}",
            oaid=self.oaid(buyer_id),
            name=spec.buyer_name or f"京东买家{serial}",
            phone=spec.buyer_phone or f"1370000{serial % 10000:04d}",
            address=spec.buyer_address or f"北京市大兴区样例路{serial}号",
        )

    def _order(self, spec: CaseSpec, serial: int, created: datetime) -> Order:
        parcel: Parcel | None = None
        if spec.order_status != "not_shipped":
            delivered = spec.order_status in {"delivered", "completed"}
            carrier = spec.carrier or self._rng.choice(_COURIERS)
            shipped_at = spec.shipped_at or created - timedelta(days=2)
            status = spec.logistics_status or ("delivered" if delivered else "in_transit")
            delivered_at = spec.delivered_at or (shipped_at + timedelta(days=1))
            parcel = Parcel(
                carrier=carrier,
                waybill=spec.waybill or f"{carrier}{ORDER_ID_BASE + serial}",
                status=status,
                shipped_at=shipped_at,
                delivered_at=delivered_at if status == "delivered" else None,
            )
        order = Order(
            order_id=ORDER_ID_BASE + serial,
            shop_id=spec.shop_id,
            paid_fen=spec.paid_amount,
            created=created - timedelta(days=3 if parcel else 1),
            parcel=parcel,
            warehouse_state=spec.warehouse_state,
        )
        self.orders[order.order_id] = order
        return order

    def _create_apply(self, spec: CaseSpec, now: datetime) -> str:
        self._shop_for_spec(spec.shop_id)
        serial = self._next()
        created = spec.created_at or now
        apply_id = int(spec.case_id) if spec.case_id else APPLY_ID_BASE + serial
        while not spec.case_id and (apply_id in self.applies or apply_id in self.services):
            apply_id = APPLY_ID_BASE + self._next()
        status = _APPLY_START[spec.status]
        amount = spec.requested_amount
        _, _, reason_zh = c.REASON_BY_WORD[spec.reason]
        apply = RefundApply(
            apply_id=apply_id,
            shop_id=spec.shop_id,
            order=self._order(spec, serial, created),
            buyer=self._buyer(spec, serial),
            status=status,
            amount_fen=amount,
            reason=spec.reason,
            reason_zh=spec.reason_text or reason_zh,
            apply_time=created,
            modified=now,
            sku=spec.item.sku,
            title=spec.item.title,
            label=spec.label,
        )
        if status != 0:
            apply.check_time = now
            apply.check_user = "商家客服"
            apply.check_remark = {2: "已发货", 3: "同意退款", 11: None}.get(status)
            apply.reject_type = 5 if status == 2 else None
            apply.refunded_fen = amount if status == 3 else 0
        self.applies[apply_id] = apply
        self._apply_index(apply).add(apply_id)
        deadline = now + timedelta(seconds=spec.deadline_s) if spec.deadline_s is not None else None
        self._arm_apply(apply, entered=created, deadline=deadline)
        return str(apply_id)

    def _create_services(self, spec: CaseSpec, now: datetime) -> list[str]:
        self._shop_for_spec(spec.shop_id)
        serial = self._next()
        created = spec.created_at or now
        order = self._order(spec, serial, created)
        buyer = self._buyer(spec, serial)
        units = spec.item.quantity
        paid = split_fen(spec.paid_amount, units)
        asked = split_fen(spec.requested_amount, units)
        status = _SERVICE_START[spec.status]
        expect = c.EXPECT_OF_TYPE[spec.type]
        _, _, reason_zh = c.REASON_BY_WORD[spec.reason]
        deadline = now + timedelta(seconds=spec.deadline_s) if spec.deadline_s is not None else None
        ids: list[str] = []
        for unit in range(units):
            if spec.case_id and unit == 0:
                service_id = int(spec.case_id)
            else:
                service_id = SERVICE_ID_BASE + (serial if unit == 0 else self._next())
                while service_id in self.services or service_id in self.applies:
                    service_id = SERVICE_ID_BASE + self._next()
            so = ServiceOrder(
                service_id=service_id,
                apply_id=700_000_000 + serial,
                shop_id=spec.shop_id,
                order=order,
                buyer=buyer,
                expect=expect,
                case_type=spec.type,
                status=status,
                reason=spec.reason,
                reason_text=spec.reason_text or reason_zh,
                paid_fen=paid[unit],
                refund_fen=asked[unit] if expect in {c.RETURN, c.REFUND_ONLY} else 0,
                sku_id=SKU_ID_BASE + serial,
                sku=spec.item.sku,
                title=spec.item.title,
                apply_time=created,
                updated=now,
                dispute_outcome=spec.dispute_outcome,
                label=spec.label,
            )
            self._start_service(so, spec, now)
            self.services[service_id] = so
            self._service_index(so).add(service_id)
            bisect.insort(self._service_by_updated[so.shop_id], (epoch_ms(now) or 0, service_id))
            for kind in spec.evidence:
                self.add_picture(so, kind)
            so.logs.append((created, buyer.pin, "客户提交服务单申请"))
            self._arm_service(so, entered=created, deadline=deadline)
            ids.append(str(service_id))
        return ids

    def _start_service(self, so: ServiceOrder, spec: CaseSpec, now: datetime) -> None:
        """Fill what a service order that is already past some steps carries."""
        if so.status not in {c.PENDING_AUDIT}:
            so.approve_time, so.approve_pin, so.approve_name = now, "seller_pin", "商家客服"
            so.approve_result = 0 if so.status in {c.REFUSED, c.JD_INTERVENING} else 1
        if so.status == c.JD_INTERVENING:
            so.escalated_from = c.REFUSED
        if so.status == c.AWAIT_RECEIPT:
            carrier = spec.return_carrier or self._rng.choice(_COURIERS)
            so.return_parcel = Parcel(
                carrier=carrier,
                waybill=spec.return_waybill or f"{carrier}R{so.service_id}",
                status=spec.return_logistics_status or "in_transit",
                shipped_at=max(so.apply_time, now - timedelta(days=2)),
                delivered_at=now - timedelta(hours=6)
                if spec.return_logistics_status == "delivered"
                else None,
            )
        if so.status == c.COMPLETED:
            so.process_time, so.process_result = now, c.PROCESS_RESULT_OF_EXPECT[so.expect]
            so.refunded_fen = so.refund_fen
            so.refund_done_at = now if so.refund_fen else None

    # -- indexes -----------------------------------------------------------------------------
    def _apply_index(self, apply: RefundApply) -> set[int]:
        return self._apply_by_status[apply.shop_id].setdefault(apply.status, set())

    def _service_index(self, so: ServiceOrder) -> set[int]:
        return self._service_by_status[so.shop_id].setdefault(so.status, set())

    def apply_ids(self, shop_id: str, statuses: list[int] | None) -> list[int]:
        table = self._apply_by_status.get(shop_id, {})
        wanted = table.keys() if statuses is None else statuses
        return [i for s in wanted for i in table.get(s, ())]

    def service_ids(self, shop_id: str, statuses: list[int] | None) -> list[int]:
        table = self._service_by_status.get(shop_id, {})
        wanted = table.keys() if statuses is None else statuses
        return [i for s in wanted for i in table.get(s, ())]

    def updated_between(self, shop_id: str, begin_ms: int, end_ms: int) -> list[int]:
        """Service ids of a shop with begin <= updateTime <= end, oldest change first."""
        rows = self._service_by_updated.get(shop_id, [])
        low = bisect.bisect_left(rows, (begin_ms, -1))
        high = bisect.bisect_right(rows, (end_ms, 1 << 62))
        return [service_id for _, service_id in rows[low:high]]

    # -- deadlines and timers ----------------------------------------------------------------
    def _apply_rule(self, apply: RefundApply) -> str | None:
        if apply.status in c.APPLY_OPEN:
            return "refund_audit"
        return "refund_settle" if apply.status == 1 else None

    def _service_rule(self, so: ServiceOrder) -> str | None:
        if so.status == c.PENDING_AUDIT:
            return "service_audit"
        if so.status in c.AWAITING_RETURN:
            return "buyer_return"
        if so.status == c.AWAIT_RECEIPT:
            return "seller_receipt"
        if so.status == c.AWAIT_PROCESS and so.expect in {c.RETURN, c.REFUND_ONLY}:
            return "seller_process"
        return "intervention" if so.status == c.JD_INTERVENING else None

    def _arm_apply(
        self, apply: RefundApply, *, entered: datetime, deadline: datetime | None = None
    ) -> None:
        rule = self._apply_rule(apply)
        if rule is not None and rule == apply.deadline_rule and apply.deadline is not None:
            deadline = deadline or apply.deadline  # same step: its deadline stands
        apply.deadline_rule = rule
        if rule is None:
            apply.deadline = None
            return
        apply.deadline = deadline or entered + timedelta(seconds=self.config.timers[rule])
        self.timers.arm(apply.deadline, ("apply", apply.apply_id), apply.stamp)

    def _arm_service(
        self, so: ServiceOrder, *, entered: datetime, deadline: datetime | None = None
    ) -> None:
        rule = self._service_rule(so)
        if rule is not None and rule == so.deadline_rule and so.deadline is not None:
            deadline = deadline or so.deadline
        so.deadline_rule = rule
        if rule is None:
            so.deadline = None
            return
        so.deadline = deadline or entered + timedelta(seconds=self.config.timers[rule])
        if rule == "service_audit":
            so.audit_overtime = so.deadline
        self.timers.arm(so.deadline, ("service", so.service_id), so.sys_version)

    def _still_armed(self, key: Any, token: Any) -> bool:
        family, record_id = key
        if family == "apply":
            apply = self.applies.get(record_id)
            return apply is not None and apply.stamp == token and apply.deadline is not None
        so = self.services.get(record_id)
        return so is not None and so.sys_version == token and so.deadline is not None

    def run_timers(self) -> list[JsonDict]:
        """Fire every due timer; answer the auto-acts (actor ``platform_auto``) they made."""
        acts: list[JsonDict] = []
        for key in self.timers.due(self.now(), self._still_armed):
            family, record_id = cast("tuple[str, int]", key)
            if family == "apply":
                entry = self._fire_apply(self.applies[record_id])
            else:
                entry = self._fire_service(self.services[record_id])
            if entry["actor"] == "platform_auto":
                acts.append(entry)
        return acts

    def _fire_apply(self, apply: RefundApply) -> JsonDict:
        at = apply.deadline or self.now()
        if apply.deadline_rule == "refund_settle":
            return self.apply_change(apply, at, actor="platform", effect="refund_settled", status=3)
        apply.check_user, apply.check_time, apply.check_remark = SYSTEM_AUDITOR, at, "超时自动审核"
        return self.refund_apply(apply, at, actor="platform_auto", status=1)

    def _fire_service(self, so: ServiceOrder) -> JsonDict:
        at = so.deadline or self.now()
        rule = so.deadline_rule
        auto = "platform_auto"
        if rule == "service_audit":
            so.approve_time, so.approve_name, so.approve_result = at, SYSTEM_AUDITOR, 1
            if so.expect == c.REFUND_ONLY:
                return self.refund_service(so, at, actor=auto, effect="agree_refund")
            return self.service_change(
                so, at, actor=auto, effect="agree_return", status=c.AWAIT_SEND
            )
        if rule == "buyer_return":
            return self.service_change(so, at, actor=auto, effect="close_case", status=c.CANCELLED)
        if rule == "seller_receipt" and so.expect not in {c.RETURN, c.REFUND_ONLY}:
            so.receive_time = at
            return self.service_change(
                so, at, actor=auto, effect="register_receipt", status=c.AWAIT_PROCESS
            )
        if rule in {"seller_receipt", "seller_process"}:
            so.receive_time = so.receive_time or at
            return self.refund_service(so, at, actor=auto, effect="confirm_return_and_refund")
        return self.settle_dispute(so, at)

    def settle_dispute(self, so: ServiceOrder, at: datetime) -> JsonDict:
        """JD staff decide an intervention by the order's ``dispute_outcome``."""
        auto = "platform_auto"
        if so.dispute_outcome == "seller":
            return self.service_change(so, at, actor=auto, effect="close_case", status=c.CANCELLED)
        if so.expect == c.REFUND_ONLY or so.escalated_from in {c.AWAIT_RECEIPT, c.AWAIT_PROCESS}:
            effect = "agree_refund" if so.expect == c.REFUND_ONLY else "confirm_return_and_refund"
            return self.refund_service(so, at, actor=auto, effect=effect)
        return self.service_change(so, at, actor=auto, effect="agree_return", status=c.AWAIT_SEND)

    # -- changes -----------------------------------------------------------------------------
    def apply_change(
        self,
        apply: RefundApply,
        at: datetime,
        *,
        actor: str,
        effect: str,
        status: int,
        amount: int | None = None,
        request_id: str | None = None,
        key: str | None = None,
    ) -> JsonDict:
        """One change of a refund application; its view version is its status."""
        before = str(apply.status)
        self._apply_index(apply).discard(apply.apply_id)
        apply.status = status
        self._apply_index(apply).add(apply.apply_id)
        apply.stamp += 1
        apply.modified = max(at, apply.modified)
        if actor == "platform_auto":
            apply.auto_acted = True
        self._arm_apply(apply, entered=at)
        return self.record_effect(
            at=at,
            shop_id=apply.shop_id,
            case_id=str(apply.apply_id),
            order_id=str(apply.order.order_id),
            effect=effect,
            actor=actor,
            amount=amount,
            version_before=before,
            version_after=str(apply.status),
            request_id=request_id,
            key=key,
        )

    def refund_apply(
        self, apply: RefundApply, at: datetime, *, actor: str, status: int, **extra: Any
    ) -> JsonDict:
        paid = apply.amount_fen - apply.refunded_fen
        apply.refunded_fen += paid
        return self.apply_change(
            apply, at, actor=actor, effect="agree_refund", status=status, amount=paid, **extra
        )

    def service_change(
        self,
        so: ServiceOrder,
        at: datetime,
        *,
        actor: str,
        effect: str,
        status: int | None = None,
        amount: int | None = None,
        request_id: str | None = None,
        key: str | None = None,
        note: str | None = None,
    ) -> JsonDict:
        """One change of a service order: sysVersion + 1, updateTime, re-armed timer, ledger."""
        before = str(so.sys_version)
        rows = self._service_by_updated[so.shop_id]
        old_key = (epoch_ms(so.updated) or 0, so.service_id)
        at_row = bisect.bisect_left(rows, old_key)
        if at_row < len(rows) and rows[at_row] == old_key:
            del rows[at_row]
        if status is not None and status != so.status:
            self._service_index(so).discard(so.service_id)
            so.status = status
            self._service_index(so).add(so.service_id)
        so.sys_version += 1
        so.updated = max(at, so.updated)
        bisect.insort(rows, (epoch_ms(so.updated) or 0, so.service_id))
        if actor == "platform_auto":
            so.auto_acted = True
        so.logs.append((at, actor, note or effect))
        self._arm_service(so, entered=at)
        return self.record_effect(
            at=at,
            shop_id=so.shop_id,
            case_id=str(so.service_id),
            order_id=str(so.order.order_id),
            effect=effect,
            actor=actor,
            amount=amount,
            version_before=before,
            version_after=str(so.sys_version),
            request_id=request_id,
            key=key,
        )

    def refund_service(
        self, so: ServiceOrder, at: datetime, *, actor: str, effect: str, **extra: Any
    ) -> JsonDict:
        """Complete a service order with its refund (a row appears in serviceAndRefund.view)."""
        paid = so.refund_fen - so.refunded_fen
        so.refunded_fen += paid
        so.refund_done_at = at
        so.process_time = at
        so.process_result = so.process_result or c.PROCESS_RESULT_OF_EXPECT[so.expect]
        return self.service_change(
            so, at, actor=actor, effect=effect, status=c.COMPLETED, amount=paid, **extra
        )

    def add_picture(self, so: ServiceOrder, kind: str) -> None:
        n = len(so.pictures) + 1
        suffix = {"photo": "jpg", "video": "mp4"}.get(kind)
        if suffix is None:
            so.logs.append((self.now(), so.buyer.pin, "客户补充了聊天记录说明"))
            so.pictures.append(f"chat:{n}")
            return
        so.pictures.append(f"https://img30.360buyimg.mock/afs/{so.service_id}-{n}.{suffix}")

    # -- views -------------------------------------------------------------------------------
    def timeout_flag(self, deadline: datetime | None) -> int:
        """1 when a deadline is within ``timeout_warning_s`` (or past), else 0 [I]."""
        if deadline is None:
            return 0
        left = (deadline - self.now()).total_seconds()
        return 1 if left <= self.config.timeout_warning_s else 0

    def apply_view(self, apply: RefundApply) -> JsonDict:
        if apply.status in c.APPLY_OPEN:
            status = "awaiting_seller"
        elif apply.status in c.APPLY_REFUNDED:
            status = "refunded"
        else:
            status = "refused" if apply.status == 2 else "closed"
        seller_deadline = apply.deadline if apply.deadline_rule == "refund_audit" else None
        return {
            "case_id": str(apply.apply_id),
            "shop_id": apply.shop_id,
            "order_id": str(apply.order.order_id),
            "status": status,
            "type": "refund_only",
            "reason": apply.reason,
            "version": str(apply.status),
            "refunded_amount": apply.refunded_fen,
            "paid_amount": apply.order.paid_fen,
            "deadline_at": iso(seller_deadline),
            "modified_at": iso(apply.modified),
            "auto_acted": apply.auto_acted,
            "refund_amount": apply.amount_fen,
            "family": "refund_apply",
            "platform_status": apply.status,
            "platform_status_name": c.APPLY_STATUS_NAMES[apply.status],
            "order_status": "not_shipped",
            "label": apply.label,
            "warehouse_state": apply.order.warehouse_state,
            "buyer_open_uid": apply.buyer.oaid,
        }

    def service_view(self, so: ServiceOrder) -> JsonDict:
        canonical = {
            c.PENDING_AUDIT: "awaiting_seller",
            c.REFUSED: "refused",
            c.AWAIT_RECEIPT: "awaiting_seller_receipt",
            c.AWAIT_PROCESS: "awaiting_seller_receipt",
            c.JD_INTERVENING: "in_dispute",
            c.CANCELLED: "closed",
        }.get(so.status)
        if canonical is None:
            returned = so.status in c.AWAITING_RETURN
            canonical = "awaiting_buyer_return" if returned else "closed"
            if so.status == c.COMPLETED and so.refunded_fen:
                canonical = "refunded"
        parcel = so.order.parcel
        return {
            "case_id": str(so.service_id),
            "shop_id": so.shop_id,
            "order_id": str(so.order.order_id),
            "status": canonical,
            "type": so.case_type,
            "reason": so.reason,
            "version": str(so.sys_version),
            "refunded_amount": so.refunded_fen,
            "paid_amount": so.paid_fen,
            "deadline_at": iso(so.deadline),
            "modified_at": iso(so.updated),
            "auto_acted": so.auto_acted,
            "refund_amount": so.refund_fen,
            "family": "service_order",
            "platform_status": so.status,
            "platform_status_name": c.SERVICE_STATUS_NAMES[so.status],
            "customer_expect": so.expect,
            "apply_id": so.apply_id,
            "audit_overtime": iso(so.audit_overtime if so.status == c.PENDING_AUDIT else None),
            "order_status": "delivered" if parcel and parcel.status == "delivered" else "shipped",
            "logistics_status": parcel.status if parcel else None,
            "return_waybill": so.return_parcel.waybill if so.return_parcel else None,
            "label": so.label,
            "warehouse_state": so.order.warehouse_state,
            "buyer_open_uid": so.buyer.oaid,
        }

    def record_view(self, case_id: str) -> JsonDict:
        record = self.find(case_id)
        if isinstance(record, RefundApply):
            return self.apply_view(record)
        return self.service_view(record)

    def find(self, case_id: str) -> RefundApply | ServiceOrder:
        if case_id.isdigit():
            number = int(case_id)
            found = self.applies.get(number) or self.services.get(number)
            if found is not None:
                return found
        raise KeyError(case_id)

    def case_views(self, shop: str | None) -> list[JsonDict]:
        views = [self.apply_view(a) for a in self.applies.values() if shop in (None, a.shop_id)]
        views += [self.service_view(s) for s in self.services.values() if shop in (None, s.shop_id)]
        return views

    def case_view(self, case_id: str) -> JsonDict:
        return self.record_view(case_id)

    def buyer_action(self, case_id: str, body: JsonDict) -> JsonDict:
        from mocks.jd.buyer import act  # buyer actions sit on top of this module

        act(self, self.find(case_id), body)
        return self.record_view(case_id)

    def buyer_touch(self, case_id: str) -> None:
        """The buyer acts just before the seller's call: a service order is edited
        (``sysVersion`` + 1), an open refund application is cancelled (it has no version)."""
        from mocks.jd.buyer import buyer_touch  # buyer actions sit on top of this module

        try:
            record = self.find(case_id)
        except KeyError:
            return
        buyer_touch(self, record)

    def reset_state(self) -> None:
        self.applies.clear()
        self.services.clear()
        self.orders.clear()
        self.timers.clear()
        for table in (self._apply_by_status, self._service_by_status):
            for by_status in table.values():
                by_status.clear()
        for rows in self._service_by_updated.values():
            rows.clear()
        self._rng = random.Random(self.config.seed)
