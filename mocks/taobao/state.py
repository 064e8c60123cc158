"""The Taobao fake's ground truth: shops, refunds, trades, the state machine and platform timers.

Indexed for a 10,000-case backlog: refunds by id, a per-shop list sorted by ``modified`` for the
windowed listing, and a heap of armed deadlines so timers cost O(1) per request when none is due.
Every method here expects ``self.lock`` to be held by the caller (the gateway and control routes
take it), except the public control entry points inherited from ``FakePlatform``.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import random
from datetime import datetime, timedelta
from typing import Any, ClassVar

from mocks.kit.casespec import CaseSpec
from mocks.kit.clock import ClockLike
from mocks.kit.journal import JsonDict
from mocks.kit.platform import FakePlatform, iso
from mocks.taobao.config import ShopConfig, TaobaoConfig
from mocks.taobao.records import Item, Message, Parcel, Refund, Trade
from mocks.taobao.wire import (
    CANONICAL_FROM_STATUS,
    DISPUTE_TYPES,
    REASON_TEXT,
    STATUS_FROM_CANONICAL,
    TRADE_STATUS_FROM_ORDER,
    epoch_ms,
)

_CARRIERS = ("SF", "ZTO", "YTO", "YUNDA")
# What each timer does when it fires: (new status, ledger effect, remind_type [I]).
_TIMER_OUTCOMES: dict[str, tuple[str, str]] = {
    "unshipped_refund": ("SUCCESS", "agree_refund"),
    "shipped_refund_only": ("SUCCESS", "agree_refund"),
    "return_request": ("WAIT_BUYER_RETURN_GOODS", "agree_return"),
    "buyer_return": ("CLOSED", "close_case"),
    "seller_confirm": ("SUCCESS", "confirm_return_and_refund"),
    "buyer_after_refusal": ("CLOSED", "close_case"),
}
REMIND_SELLER, REMIND_BUYER, REMIND_PLATFORM = 1, 2, 3  # remind_type values [I]
DEFAULT_RETURN_ADDRESS = "浙江省杭州市余杭区样例仓库路1号 退货组 收 0571-00000000"


class TaobaoMock(FakePlatform):
    """State of one fake TOP platform (any number of Taobao and Tmall shops)."""

    platform = "taobao"
    ban_error: ClassVar[dict[str, Any]] = {
        "code": 7,
        "sub_code": "accesscontrol.limited-by-app-frequency",  # as an app_qps ban (gateway.py)
    }

    def __init__(self, config: TaobaoConfig | None = None, clock: ClockLike | None = None) -> None:
        super().__init__(clock)
        self.config = config or TaobaoConfig()
        self._rng = random.Random(self.config.seed)
        self.shops: dict[str, ShopConfig] = {}
        self.sessions: dict[str, str] = {}
        self.refunds: dict[str, Refund] = {}
        self.trades: dict[int, Trade] = {}
        self.items: dict[int, Item] = {}
        self.refund_of_trade: dict[int, str] = {}
        self._by_modified: dict[str, list[tuple[int, str]]] = {}
        self._timers: list[tuple[float, str, int]] = []
        self.pending_sms: dict[str, str] = {}
        self._serial = 0
        self._message_serial = 0
        for shop in self.config.shops:
            self.add_shop(shop)

    # -- shops ---------------------------------------------------------------------------------
    def add_shop(self, shop: ShopConfig) -> ShopConfig:
        if shop.session in self.sessions and self.sessions[shop.session] != shop.shop_id:
            msg = f"session {shop.session!r} already belongs to shop {self.sessions[shop.session]}"
            raise ValueError(msg)
        old = self.shops.get(shop.shop_id)
        if old is not None:
            self.sessions.pop(old.session, None)
        self.shops[shop.shop_id] = shop
        self.sessions[shop.session] = shop.shop_id
        self._by_modified.setdefault(shop.shop_id, [])
        return shop

    def shop_for_session(self, session: str | None) -> ShopConfig | None:
        if not session:
            return None
        shop_id = self.sessions.get(session)
        return None if shop_id is None else self.shops[shop_id]

    def default_shops(self) -> list[str]:
        return list(self.shops)

    def tmall_like_shops(self, shops: list[str]) -> list[str]:
        """Known Tmall shops, and every second unknown shop, get the Tmall flavour."""
        chosen = []
        for index, shop_id in enumerate(shops):
            known = self.shops.get(shop_id)
            if (known is not None and known.tmall) or (known is None and index % 2 == 1):
                chosen.append(shop_id)
        return chosen

    def open_uid(self, buyer_id: str) -> str:
        """A pseudonymous per-app buyer id (like TOP's buyer_open_uid), stable across shops."""
        digest = hashlib.sha256(f"{self.config.app_key}:{buyer_id}".encode()).hexdigest()
        return f"AAH{digest[:21].upper()}"

    # -- creation ------------------------------------------------------------------------------
    def _next_id(self) -> int:
        self._serial += 1
        return self._serial

    def add_specs(self, specs: list[CaseSpec]) -> list[str]:
        now = self.now()
        seen = set(self.refunds)
        for spec in specs:
            if spec.case_id is not None:
                if spec.case_id in seen:
                    msg = f"case_id {spec.case_id!r} already exists"
                    raise ValueError(msg)
                seen.add(spec.case_id)
        return [self._create(spec, now) for spec in specs]

    def _create(self, spec: CaseSpec, now: datetime) -> str:
        shop = self.shops.get(spec.shop_id)
        if shop is None:
            shop = self.add_shop(
                ShopConfig(
                    spec.shop_id, f"{self.config.session}-{spec.shop_id}", tmall=bool(spec.tmall)
                )
            )
        serial = self._next_id()
        refund_id = spec.case_id or str(90_000_000_000 + serial)
        tid = 3_000_000_000_000 + serial
        created = spec.created_at or now
        buyer_id = spec.buyer_id or f"b-{serial:05d}"
        buyer_nick = spec.buyer_name or f"买家{serial}"
        open_uid = self.open_uid(buyer_id)
        item = Item(
            num_iid=600_000_000_000 + serial,
            shop_id=shop.shop_id,
            title=spec.item.title,
            sku=spec.item.sku,
            price_fen=spec.item.price,
            no_reason_eligible=spec.item.no_reason_eligible,
        )
        parcel: Parcel | None = None
        if spec.order_status != "not_shipped":
            carrier = spec.carrier or self._rng.choice(_CARRIERS)
            delivered = spec.order_status in {"delivered", "completed"}
            shipped_at = spec.shipped_at or created - timedelta(days=2)
            parcel_status = spec.logistics_status or ("delivered" if delivered else "in_transit")
            delivered_at = spec.delivered_at or (
                shipped_at + timedelta(days=1) if delivered else None
            )
            parcel = Parcel(
                carrier=carrier,
                waybill=spec.waybill or f"{carrier}{tid}",
                status=parcel_status,
                shipped_at=shipped_at,
                delivered_at=delivered_at if parcel_status == "delivered" else None,
            )
        trade = Trade(
            tid=tid,
            shop_id=shop.shop_id,
            status=TRADE_STATUS_FROM_ORDER[spec.order_status],
            created=created - timedelta(days=3 if parcel else 1),
            modified=now,
            payment_fen=spec.paid_amount,
            buyer_nick=buyer_nick,
            buyer_open_uid=open_uid,
            receiver_name=spec.buyer_name or f"收件人{serial}",
            receiver_mobile=spec.buyer_phone or f"1390000{serial % 10000:04d}",
            receiver_address=spec.buyer_address or f"某省某市某路{serial}号",
            parcel=parcel,
        )
        status = STATUS_FROM_CANONICAL[spec.status]
        if spec.order_status == "not_shipped":
            good_status = "BUYER_NOT_RECEIVED"
        elif spec.status == "awaiting_seller_receipt":
            good_status = "BUYER_RETURNED_GOODS"
        elif parcel is not None and parcel.status == "delivered":
            good_status = "BUYER_RECEIVED"
        else:
            good_status = "BUYER_NOT_RECEIVED"
        refund = Refund(
            refund_id=refund_id,
            shop_id=shop.shop_id,
            tmall=shop.tmall,
            tid=tid,
            oid=tid,
            item=item,
            num=spec.item.quantity,
            seller_nick=shop.seller_nick,
            buyer_id=buyer_id,
            buyer_nick=buyer_nick,
            buyer_open_uid=open_uid,
            case_type=spec.type,
            reason=spec.reason,
            reason_text=spec.reason_text or REASON_TEXT[spec.reason],
            desc=spec.reason_text or REASON_TEXT[spec.reason],
            status=status,
            total_fee_fen=spec.paid_amount,
            refund_fee_fen=spec.requested_amount,
            created=created,
            modified=now,
            version=epoch_ms(now),
            refund_phase=spec.phase
            or ("aftersale" if spec.order_status == "completed" else "onsale"),
            good_status=good_status,
            operation_contraint="cannot_refuse" if spec.cannot_refuse else None,
            refunded_fen=spec.requested_amount if spec.status == "refunded" else 0,
            cs_status=3 if spec.status == "in_dispute" else 1,
            escalated=spec.status == "in_dispute",
            dispute_outcome=spec.dispute_outcome,
            label=spec.label,
            warehouse_state=spec.warehouse_state,
            end_time=now if status in {"SUCCESS", "CLOSED"} else None,
        )
        if status in {"WAIT_SELLER_CONFIRM_GOODS"}:
            carrier = spec.return_carrier or self._rng.choice(_CARRIERS)
            refund.return_parcel = Parcel(
                carrier=carrier,
                waybill=spec.return_waybill or f"{carrier}R{tid}",
                status=spec.return_logistics_status or "in_transit",
                shipped_at=max(created, now - timedelta(days=2)),
                delivered_at=now - timedelta(hours=6)
                if spec.return_logistics_status == "delivered"
                else None,
            )
        if status in {"WAIT_BUYER_RETURN_GOODS", "WAIT_SELLER_CONFIRM_GOODS"}:
            refund.address = DEFAULT_RETURN_ADDRESS
        self.trades[tid] = trade
        self.items[item.num_iid] = item
        self.refund_of_trade[tid] = refund_id
        self.refunds[refund_id] = refund
        self._add_buyer_message(refund, refund.desc, [], created)
        for kind in spec.evidence:
            self._add_evidence(refund, kind, created)
        self._index(refund)
        deadline = now + timedelta(seconds=spec.deadline_s) if spec.deadline_s is not None else None
        self._arm(refund, entered=created, deadline=deadline)
        return refund_id

    # -- indexes and versions --------------------------------------------------------------------
    def _index(self, refund: Refund) -> None:
        bisect.insort(
            self._by_modified[refund.shop_id], (epoch_ms(refund.modified), refund.refund_id)
        )

    def _unindex(self, refund: Refund) -> None:
        rows = self._by_modified[refund.shop_id]
        key = (epoch_ms(refund.modified), refund.refund_id)
        at = bisect.bisect_left(rows, key)
        if at < len(rows) and rows[at] == key:
            del rows[at]

    def _touch(self, refund: Refund, at: datetime) -> None:
        """A change: move ``modified`` and bump ``refund_version`` (epoch ms, strictly growing)."""
        self._unindex(refund)
        refund.modified = max(at, refund.modified)
        refund.version = max(refund.version + 1, epoch_ms(at))
        self._index(refund)

    def window(
        self, shop_id: str, start: datetime | None, end: datetime | None
    ) -> list[tuple[int, str]]:
        """(modified_ms, refund_id) rows of one shop with start <= modified <= end, oldest first."""
        rows = self._by_modified.get(shop_id, [])
        low = 0 if start is None else bisect.bisect_left(rows, (epoch_ms(start), ""))
        high = len(rows) if end is None else bisect.bisect_right(rows, (epoch_ms(end), "\uffff"))
        return rows[low:high]

    # -- timers ----------------------------------------------------------------------------------
    def _rule_for(self, refund: Refund) -> str | None:
        if not refund.is_open:
            return None
        if refund.escalated:
            return "evidence_period"
        if refund.status == "WAIT_SELLER_AGREE":
            if refund.has_good_return:
                return "return_request"
            trade = self.trades[refund.tid]
            if trade.status == "WAIT_SELLER_SEND_GOODS":
                return "unshipped_refund"
            return "shipped_refund_only"
        return {
            "WAIT_BUYER_RETURN_GOODS": "buyer_return",
            "WAIT_SELLER_CONFIRM_GOODS": "seller_confirm",
            "SELLER_REFUSE_BUYER": "buyer_after_refusal",
        }.get(refund.status)

    def remind_type(self, refund: Refund) -> int:
        rule = refund.deadline_rule
        if rule in {"buyer_return", "buyer_after_refusal"}:
            return REMIND_BUYER
        if rule == "evidence_period":
            return REMIND_PLATFORM
        return REMIND_SELLER

    def _arm(self, refund: Refund, *, entered: datetime, deadline: datetime | None = None) -> None:
        """Set the deadline of the current step (explicit, or entered + the configured timer)."""
        rule = self._rule_for(refund)
        refund.deadline_rule = rule
        if rule is None:
            refund.deadline = None
            return
        refund.deadline = deadline or entered + timedelta(seconds=self.config.timers[rule])
        heapq.heappush(
            self._timers, (refund.deadline.timestamp(), refund.refund_id, refund.version)
        )

    def run_timers(self) -> list[JsonDict]:
        now = self.now()
        acts: list[JsonDict] = []
        cutoff = now.timestamp()
        while self._timers and self._timers[0][0] <= cutoff:
            _, refund_id, version = heapq.heappop(self._timers)
            refund = self.refunds.get(refund_id)
            if refund is None or refund.version != version or refund.deadline is None:
                continue  # the case moved on since this timer was armed
            acts.append(self._fire(refund, refund.deadline))
        return acts

    def _fire(self, refund: Refund, at: datetime) -> JsonDict:
        """The platform acts for the side that missed its deadline."""
        rule = refund.deadline_rule or ""
        if rule == "evidence_period":
            buyer_wins = refund.dispute_outcome == "buyer"
            refund.cs_status = 8 if buyer_wins else 9
            refund.escalated = False
            if buyer_wins:
                return self._finish_refund(refund, at, "platform_auto", "agree_refund", None, None)
            return self._change(
                refund, at, actor="platform_auto", effect="close_case", status="CLOSED"
            )
        status, effect = _TIMER_OUTCOMES[rule]
        if status == "SUCCESS":
            return self._finish_refund(refund, at, "platform_auto", effect, None, None)
        if status == "WAIT_BUYER_RETURN_GOODS":
            refund.address = refund.address or DEFAULT_RETURN_ADDRESS
            self._add_message(
                refund,
                3,
                "平台",
                "",
                "卖家超时未处理，系统已自动同意退货",
                at,
                "RETURN_GOODS_APPROVED",
            )
        return self._change(refund, at, actor="platform_auto", effect=effect, status=status)

    # -- changes -------------------------------------------------------------------------------
    def _change(
        self,
        refund: Refund,
        at: datetime,
        *,
        actor: str,
        effect: str,
        status: str | None = None,
        amount: int | None = None,
        request_id: str | None = None,
        key: str | None = None,
    ) -> JsonDict:
        """Apply one change: status, version bump, timer re-armed, ledger entry."""
        before = str(refund.version)
        if status is not None and status != refund.status:
            refund.status = status
            if status in {"SUCCESS", "CLOSED"}:
                refund.end_time = at
        self._touch(refund, at)
        if actor == "platform_auto":
            refund.auto_acted = True
        if self._rule_for(refund) != refund.deadline_rule or refund.deadline is None:
            self._arm(refund, entered=at)
        else:
            # Same step (a message, a memo, an edit): the step's deadline stands; the timer
            # follows the new version.
            heapq.heappush(
                self._timers, (refund.deadline.timestamp(), refund.refund_id, refund.version)
            )
        return self.record_effect(
            at=at,
            shop_id=refund.shop_id,
            case_id=refund.refund_id,
            order_id=str(refund.tid),
            effect=effect,
            actor=actor,
            amount=amount,
            version_before=before,
            version_after=str(refund.version),
            request_id=request_id,
            key=key,
        )

    def _finish_refund(
        self,
        refund: Refund,
        at: datetime,
        actor: str,
        effect: str,
        request_id: str | None,
        key: str | None,
        amount: int | None = None,
    ) -> JsonDict:
        # The platform never pays back more than the buyer paid, whatever was asked for.
        left = refund.total_fee_fen - refund.refunded_fen
        paid = min(refund.refund_fee_fen - refund.refunded_fen, left) if amount is None else amount
        refund.refunded_fen += paid
        if refund.status == "WAIT_SELLER_CONFIRM_GOODS":
            refund.good_status = "BUYER_RETURNED_GOODS"
        return self._change(
            refund,
            at,
            actor=actor,
            effect=effect,
            status="SUCCESS",
            amount=paid,
            request_id=request_id,
            key=key,
        )

    def seller_change(self, refund: Refund, **kwargs: Any) -> JsonDict:
        return self._change(refund, self.now(), actor="seller", **kwargs)

    def seller_finish(
        self, refund: Refund, effect: str, amount: int, request_id: str, key: str
    ) -> JsonDict:
        return self._finish_refund(refund, self.now(), "seller", effect, request_id, key, amount)

    # -- messages ------------------------------------------------------------------------------
    def _add_message(
        self,
        refund: Refund,
        role: int,
        nick: str,
        uid: str,
        content: str,
        at: datetime,
        message_type: str = "NORMAL",
        pics: list[str] | None = None,
    ) -> Message:
        self._message_serial += 1
        message = Message(
            id=self._message_serial,
            refund_id=refund.refund_id,
            owner_role=role,
            owner_nick=nick,
            owner_open_uid=uid,
            content=content,
            created=at,
            refund_phase=refund.refund_phase,
            message_type=message_type,
            pic_urls=list(pics or []),
        )
        refund.messages.append(message)
        return message

    def _add_buyer_message(
        self, refund: Refund, content: str, pics: list[str], at: datetime
    ) -> None:
        self._add_message(
            refund, 1, refund.buyer_nick, refund.buyer_open_uid, content, at, pics=pics
        )

    def _add_evidence(self, refund: Refund, kind: str, at: datetime) -> None:
        refund.evidence.append(kind)
        n = len(refund.evidence)
        if kind == "photo":
            self._add_buyer_message(
                refund,
                "商品问题照片",
                [f"https://img.mock.taobao/evidence/{refund.refund_id}-{n}.jpg"],
                at,
            )
        elif kind == "video":
            self._add_buyer_message(
                refund,
                "商品问题视频",
                [f"https://video.mock.taobao/evidence/{refund.refund_id}-{n}.mp4"],
                at,
            )
        else:
            self._add_buyer_message(refund, "和卖家的聊天记录说明了问题", [], at)

    def add_seller_message(
        self, refund: Refund, content: str, pics: list[str], message_type: str = "NORMAL"
    ) -> Message:
        shop = self.shops[refund.shop_id]
        return self._add_message(
            refund, 2, shop.seller_nick, "", content, self.now(), message_type, pics
        )

    # -- buyer actions (control API) ----------------------------------------------------------
    def buyer_action(self, case_id: str, body: JsonDict) -> JsonDict:
        refund = self.refunds.get(case_id)
        if refund is None:
            raise KeyError(case_id)
        action = body.get("action")
        now = self.now()
        handler = _BUYER_ACTIONS.get(str(action))
        if handler is None:
            msg = f"action must be one of {sorted(_BUYER_ACTIONS)}, got {action!r}"
            raise ValueError(msg)
        handler(self, refund, body, now)
        return self.view(refund)

    def _buyer(self, refund: Refund, now: datetime, effect: str, status: str | None = None) -> None:
        self._change(refund, now, actor="buyer", effect=effect, status=status)

    def _require(self, refund: Refund, allowed: set[str], action: str) -> None:
        if refund.status not in allowed:
            msg = f"buyer cannot {action} while the refund is {refund.status}"
            raise ValueError(msg)

    def buyer_touch(self, refund_id: str) -> None:
        """The buyer edits the case's description (version moves): the ``change_before`` fault."""
        refund = self.refunds.get(refund_id)
        if refund is not None:
            refund.desc = f"{refund.desc}（买家补充说明）"
            self._buyer(refund, self.now(), "buyer_modify")

    def _act_ship_return(self, refund: Refund, body: JsonDict, now: datetime) -> None:
        self._require(refund, {"WAIT_BUYER_RETURN_GOODS"}, "ship a return")
        waybill, carrier = body.get("waybill"), body.get("carrier")
        if (
            not isinstance(waybill, str)
            or not waybill
            or not isinstance(carrier, str)
            or not carrier
        ):
            msg = "ship_return needs a waybill and a carrier"
            raise ValueError(msg)
        refund.return_parcel = Parcel(
            carrier=carrier, waybill=waybill, status="in_transit", shipped_at=now
        )
        refund.good_status = "BUYER_RETURNED_GOODS"
        self._buyer(refund, now, "buyer_ship_return", "WAIT_SELLER_CONFIRM_GOODS")

    def _act_return_delivered(self, refund: Refund, body: JsonDict, now: datetime) -> None:
        if refund.return_parcel is None:
            msg = "this refund has no return parcel"
            raise ValueError(msg)
        refund.return_parcel.status = "delivered"
        refund.return_parcel.delivered_at = now

    def _act_parcel(self, refund: Refund, body: JsonDict, now: datetime) -> None:
        parcel = self.trades[refund.tid].parcel
        status = body.get("status")
        if parcel is None:
            msg = "the order was not shipped, so there is no parcel"
            raise ValueError(msg)
        if status not in {"in_transit", "delivered", "lost", "refused", "returned"}:
            msg = "status must be in_transit, delivered, lost, refused or returned"
            raise ValueError(msg)
        parcel.status = str(status)
        parcel.delivered_at = now if status == "delivered" else None

    def _act_cancel(self, refund: Refund, body: JsonDict, now: datetime) -> None:
        if not refund.is_open:
            msg = f"buyer cannot cancel a refund that is {refund.status}"
            raise ValueError(msg)
        refund.escalated = False
        self._buyer(refund, now, "buyer_cancel", "CLOSED")

    def _act_modify(self, refund: Refund, body: JsonDict, now: datetime) -> None:
        self._require(refund, {"WAIT_SELLER_AGREE", "SELLER_REFUSE_BUYER"}, "modify")
        case_type = body.get("type", refund.case_type)
        reason = body.get("reason", refund.reason)
        if case_type not in DISPUTE_TYPES:
            msg = f"type must be one of {sorted(DISPUTE_TYPES)}"
            raise ValueError(msg)
        if reason not in REASON_TEXT:
            msg = f"reason must be one of {sorted(REASON_TEXT)}"
            raise ValueError(msg)
        amount = body.get("amount", refund.refund_fee_fen)
        if (
            not isinstance(amount, int)
            or isinstance(amount, bool)
            or not 0 < amount <= refund.total_fee_fen
        ):
            msg = "amount must be fen, above 0 and at most the paid amount"
            raise ValueError(msg)
        refund.case_type, refund.reason, refund.refund_fee_fen = str(case_type), str(reason), amount
        refund.reason_text = str(body.get("reason_text") or REASON_TEXT[refund.reason])
        refund.escalated, refund.cs_status = False, 1
        self._buyer(refund, now, "buyer_modify", "WAIT_SELLER_AGREE")

    def _act_escalate(self, refund: Refund, body: JsonDict, now: datetime) -> None:
        self._require(
            refund,
            {"SELLER_REFUSE_BUYER", "WAIT_SELLER_AGREE", "WAIT_SELLER_CONFIRM_GOODS"},
            "escalate",
        )
        if refund.escalated:
            msg = "the refund is already escalated"
            raise ValueError(msg)
        refund.escalated, refund.cs_status = True, 3
        if body.get("outcome") in {"buyer", "seller"}:
            refund.dispute_outcome = str(body["outcome"])
        self._buyer(refund, now, "buyer_escalate")

    def _act_add_evidence(self, refund: Refund, body: JsonDict, now: datetime) -> None:
        kind = body.get("kind")
        if kind not in {"photo", "video", "chat"}:
            msg = "kind must be photo, video or chat"
            raise ValueError(msg)
        self._add_evidence(refund, str(kind), now)
        self._buyer(refund, now, "buyer_add_evidence")

    def _act_decide_dispute(self, refund: Refund, body: JsonDict, now: datetime) -> None:
        if not refund.escalated:
            msg = "only an escalated refund has a dispute to decide"
            raise ValueError(msg)
        outcome = body.get("outcome")
        if outcome not in {"buyer", "seller"}:
            msg = "outcome must be buyer or seller"
            raise ValueError(msg)
        refund.dispute_outcome = str(outcome)
        self._fire(refund, now)

    # -- views ---------------------------------------------------------------------------------
    def canonical_status(self, refund: Refund) -> str:
        if refund.escalated and refund.is_open:
            return "in_dispute"
        return CANONICAL_FROM_STATUS.get(refund.status, "awaiting_seller")

    def view(self, refund: Refund) -> JsonDict:
        trade = self.trades[refund.tid]
        return {
            "case_id": refund.refund_id,
            "shop_id": refund.shop_id,
            "order_id": str(refund.tid),
            "status": self.canonical_status(refund),
            "type": refund.case_type,
            "reason": refund.reason,
            "version": str(refund.version),
            "refunded_amount": refund.refunded_fen,
            "paid_amount": refund.total_fee_fen,
            "deadline_at": iso(refund.deadline),
            "modified_at": iso(refund.modified),
            "auto_acted": refund.auto_acted,
            # extensions (docs/mocks.md, Taobao section)
            "refund_amount": refund.refund_fee_fen,
            "platform_status": refund.status,
            "tmall": refund.tmall,
            "cs_status": refund.cs_status,
            "order_status": trade.status,
            "memo": trade.memo,
            "return_waybill": refund.return_parcel.waybill if refund.return_parcel else None,
            "label": refund.label,
            "warehouse_state": refund.warehouse_state,
            "buyer_open_uid": refund.buyer_open_uid,
        }

    def case_views(self, shop: str | None) -> list[JsonDict]:
        return [self.view(r) for r in self.refunds.values() if shop is None or r.shop_id == shop]

    def case_view(self, case_id: str) -> JsonDict:
        refund = self.refunds.get(case_id)
        if refund is None:
            raise KeyError(case_id)
        return self.view(refund)

    def reset_state(self) -> None:
        self.refunds.clear()
        self.trades.clear()
        self.items.clear()
        self.refund_of_trade.clear()
        self._timers.clear()
        self.pending_sms.clear()
        for rows in self._by_modified.values():
            rows.clear()
        self._rng = random.Random(self.config.seed)

    # -- SMS step-up -----------------------------------------------------------------------------
    def issue_sms_code(self, shop_id: str) -> str:
        code = f"{self._rng.randrange(0, 1_000_000):06d}"
        self.pending_sms[shop_id] = code
        return code


_BUYER_ACTIONS = {
    "ship_return": TaobaoMock._act_ship_return,
    "return_delivered": TaobaoMock._act_return_delivered,
    "parcel": TaobaoMock._act_parcel,
    "cancel": TaobaoMock._act_cancel,
    "modify": TaobaoMock._act_modify,
    "escalate": TaobaoMock._act_escalate,
    "add_evidence": TaobaoMock._act_add_evidence,
    "decide_dispute": TaobaoMock._act_decide_dispute,
}
