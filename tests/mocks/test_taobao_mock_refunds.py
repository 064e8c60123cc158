"""Refund APIs of the Taobao fake: listing, CAS on Tmall, state machine on Taobao, refuse rules."""

from __future__ import annotations

import io
from typing import Any

from mock_taobao_support import GMT8, Fake

LIST = "taobao.refunds.receive.get"
AGREE = "taobao.rp.refunds.agree"
REFUSE = "taobao.refund.refuse"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def _detail(
    fake: Fake,
    refund_id: str,
    fields: str = "refund_id,status,refund_version,refund_phase",
    top: Any = None,
) -> dict[str, Any]:
    refund: dict[str, Any] = (top or fake.taobao).ok(
        "taobao.refund.get", fields=fields, refund_id=refund_id
    )["refund"]
    return refund


def test_paging_with_has_next_and_total(fake: Fake) -> None:
    ids = fake.control("POST", "/scenario", {"seed": 3, "count": 250, "shops": ["taobao-shop"]})
    assert len(ids["case_ids"]) == 250
    seen: list[str] = []
    page = 1
    while True:
        body = fake.taobao.ok(
            LIST, fields="refund_id,modified", page_no=page, page_size=100, use_has_next="true"
        )
        assert "total_results" not in body
        seen += [r["refund_id"] for r in body["refunds"]["refund"]]
        if not body["has_next"]:
            break
        page += 1
    assert page == 3
    assert sorted(seen) == sorted(ids["case_ids"])
    body = fake.taobao.ok(LIST, fields="refund_id", page_size=100, page_no=3)
    assert body["total_results"] == 250
    assert "has_next" not in body
    assert len(body["refunds"]["refund"]) == 50


def test_fields_filter_window_and_status(fake: Fake) -> None:
    rid = fake.case(paid_amount=1230, reason="quality", order_status="delivered")
    fake.clock.advance(60)
    other = fake.case(status="refunded")
    body = fake.taobao.ok(LIST, fields="refund_id,refund_fee", status="WAIT_SELLER_AGREE")
    rows = body["refunds"]["refund"]
    assert rows == [{"refund_id": rid, "refund_fee": "12.30"}]
    stamp = fake.clock.now().astimezone(GMT8).strftime("%Y-%m-%d %H:%M:%S")
    body = fake.taobao.ok(LIST, fields="refund_id", start_modified=stamp, end_modified=stamp)
    assert [r["refund_id"] for r in body["refunds"]["refund"]] == [other]
    # another shop's refunds are never listed
    assert fake.tmall.ok(LIST, fields="refund_id")["total_results"] == 0


def test_refund_get_shape(fake: Fake) -> None:
    rid = fake.case(
        paid_amount=1234560,
        refund_amount=1,
        reason="not_received",
        order_status="shipped",
        deadline_s=3600,
        buyer_name="张三",
    )
    refund = _detail(
        fake,
        rid,
        "refund_id,tid,oid,refund_fee,total_fee,payment,reason,"
        "has_good_return,refund_remind_timeout,buyer_nick,buyer_open_uid,"
        "dispute_type,created,refund_version",
    )
    assert refund["refund_fee"] == "0.01"
    assert refund["total_fee"] == "12345.60"
    assert refund["payment"] == "12345.59"
    assert refund["tid"] == refund["oid"]
    assert refund["reason"] == "未收到货"
    assert refund["has_good_return"] is False
    assert refund["dispute_type"] == "REFUND"
    assert refund["buyer_nick"] == "张三"
    assert refund["buyer_open_uid"].startswith("AAH")
    assert refund["refund_remind_timeout"] == {
        "exist_timeout": True,
        "remind_type": 1,
        "timeout": "2026-11-12 11:00:00",
    }
    assert len(refund["created"]) == 19
    assert isinstance(refund["refund_version"], int)


def test_agree_on_tmall_needs_and_checks_version(fake: Fake) -> None:
    rid = fake.case(shop_id="tmall-shop", order_status="shipped", paid_amount=5000)
    info = _detail(fake, rid, top=fake.tmall)
    err = fake.tmall.error(AGREE, refund_infos=f"{rid}|5000")
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:refund_version")
    fake.control("POST", f"/buyer/{rid}", {"action": "add_evidence", "kind": "photo"})
    stale = f"{rid}|5000|{info['refund_version']}|{info['refund_phase']}"
    result = fake.tmall.ok(AGREE, refund_infos=stale)
    item = result["results"]["refund_mapping_result"][0]
    assert result["msg_code"] == "OP_FAILURE_UE"
    assert item["succ"] is False
    assert item["error_code"] == "isv.invalid-parameter:refund_version"
    fresh = _detail(fake, rid, top=fake.tmall)
    result = fake.tmall.ok(AGREE, refund_infos=f"{rid}|5000|{fresh['refund_version']}|onsale")
    assert result["msg_code"] == "OP_SUCC"
    view = fake.view(rid)
    assert (view["status"], view["refunded_amount"]) == ("refunded", 5000)
    assert view["version"] != str(fresh["refund_version"])
    # the same write again is reported as already done, distinctly
    again = fake.tmall.ok(AGREE, refund_infos=f"{rid}|5000|{fresh['refund_version']}|onsale")
    assert again["results"]["refund_mapping_result"][0]["error_code"] == (
        "isv.refund-already-in-target-state"
    )


def test_batch_partial_success_and_limits(fake: Fake) -> None:
    good = fake.case(order_status="shipped", paid_amount=1000)
    returning = fake.case(type="return_and_refund", order_status="delivered", paid_amount=1000)
    too_much = fake.case(order_status="shipped", paid_amount=1000)
    result = fake.taobao.ok(AGREE, refund_infos=f"{good}|1000,{returning}|1000,{too_much}|1001,9|1")
    assert result["msg_code"] == "SOME_OP_SUCC"
    assert result["succ"] is False
    codes = [r.get("error_code") for r in result["results"]["refund_mapping_result"]]
    assert codes == [
        None,
        "isv.refund-status-error",
        "isv.refund-amount-exceed",
        "isv.refund-not-exist",
    ]
    err = fake.taobao.error(AGREE, refund_infos=",".join(f"{i}|1" for i in range(21)))
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:refund_infos")
    ledger = [e for e in fake.ledger() if e["actor"] == "seller"]
    assert [(e["case_id"], e["effect"], e["amount"]) for e in ledger] == [
        (good, "agree_refund", 1000)
    ]


def test_taobao_state_machine_and_return_flow(fake: Fake) -> None:
    rid = fake.case(
        type="return_and_refund", reason="quality", order_status="delivered", evidence=["photo"]
    )
    err = fake.taobao.error("taobao.rp.returngoods.agree", refund_id=rid)
    assert err["sub_code"] == "isv.missing-parameter:seller_address_id"
    ok = fake.taobao.ok(
        "taobao.rp.returngoods.agree", refund_id=rid, seller_address_id=1, post_fee_bear_role=0
    )
    assert ok["is_success"] is True
    again = fake.taobao.error("taobao.rp.returngoods.agree", refund_id=rid, seller_address_id=1)
    assert again["sub_code"] == "isv.refund-already-in-target-state"
    err = fake.taobao.ok(AGREE, refund_infos=f"{rid}|100")["results"]["refund_mapping_result"][0]
    assert err["error_code"] == "isv.refund-status-error"  # goods not back yet
    view = fake.control(
        "POST", f"/buyer/{rid}", {"action": "ship_return", "waybill": "SF123", "carrier": "SF"}
    )
    assert view["status"] == "awaiting_seller_receipt"
    detail = _detail(fake, rid, "sid,company_name,good_status,status")
    assert detail == {
        "sid": "SF123",
        "company_name": "SF",
        "good_status": "BUYER_RETURNED_GOODS",
        "status": "WAIT_SELLER_CONFIRM_GOODS",
    }
    result = fake.taobao.ok(AGREE, refund_infos=f"{rid}|9900")
    assert result["msg_code"] == "OP_SUCC"
    effects = [e["effect"] for e in fake.ledger()]
    assert effects == ["agree_return", "buyer_ship_return", "confirm_return_and_refund"]
    messages = fake.taobao.ok(
        "taobao.refund.messages.get",
        refund_id=rid,
        fields="owner_role,message_type,pic_urls,content",
    )
    types = [m["message_type"] for m in messages["refund_messages"]["refund_message"]]
    assert "RETURN_GOODS_APPROVED" in types
    photos = [m for m in messages["refund_messages"]["refund_message"] if m["pic_urls"]["pic_url"]]
    assert photos[0]["owner_role"] == 1


def test_refuse_rules(fake: Fake) -> None:
    unshipped = fake.case(order_status="not_shipped")
    no_reason = fake.case(type="return_and_refund", reason="no_reason_7d", order_status="delivered")
    locked = fake.case(order_status="delivered", reason="quality", cannot_refuse=True)
    fine = fake.case(order_status="delivered", reason="quality")
    expected = {
        unshipped: "isv.refuse-forbidden:unshipped",
        no_reason: "isv.refuse-forbidden:no-reason-7d",
        locked: "isv.refuse-forbidden:cannot_refuse",
    }
    for rid, sub_code in expected.items():
        err = fake.taobao.error(REFUSE, refund_id=rid, refuse_message="商品完好无损")
        assert (err["code"], err["sub_code"]) == (15, sub_code)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in err["sub_msg"])  # Chinese for a person
    err = fake.taobao.error(REFUSE, refund_id=fine, refuse_message="不")
    assert err["sub_code"] == "isv.invalid-parameter:refuse_message"
    ok = fake.taobao.ok(REFUSE, refund_id=fine, refuse_message="商品完好无损")
    assert ok["refund"]["status"] == "SELLER_REFUSE_BUYER"
    err = fake.taobao.error(REFUSE, refund_id=fine, refuse_message="商品完好无损")
    assert err["sub_code"] == "isv.refund-already-in-target-state"


def test_refuse_on_tmall_needs_proof_within_limits(fake: Fake) -> None:
    rid = fake.case(shop_id="tmall-shop", order_status="delivered", reason="quality")
    info = _detail(fake, rid, top=fake.tmall)
    args = {
        "refund_id": rid,
        "refuse_message": "已核实物流签收",
        "refund_phase": "onsale",
        "refund_version": info["refund_version"],
    }
    err = fake.tmall.error(REFUSE, **args)
    assert err["sub_code"] == "isv.missing-parameter:refuse_proof"
    big = {"refuse_proof": ("p.png", io.BytesIO(PNG + b"\x00" * 130_000), "image/png")}
    assert fake.tmall.error(REFUSE, files=big, **args)["sub_code"] == (
        "isv.invalid-parameter:refuse_proof"
    )
    not_image = {"refuse_proof": ("p.png", io.BytesIO(b"%PDF-1.4 hello"), "image/png")}
    assert fake.tmall.error(REFUSE, files=not_image, **args)["code"] == 41
    proof = {"refuse_proof": ("p.png", io.BytesIO(PNG), "image/png")}
    stale = {**args, "refund_version": int(info["refund_version"]) - 1}
    assert fake.tmall.error(REFUSE, files=proof, **stale)["sub_code"] == (
        "isv.invalid-parameter:refund_version"
    )
    assert fake.tmall.ok(REFUSE, files=proof, **args)["is_success"] is True


def test_sms_step_up(fake: Fake) -> None:
    rid = fake.case(order_status="shipped", paid_amount=150_000)
    err = fake.taobao.error(AGREE, refund_infos=f"{rid}|150000")
    assert (err["code"], err["sub_code"]) == (15, "isv.need-sms-verify-code")
    code = fake.control("GET", "/sms?shop=taobao-shop")["code"]
    wrong = "000000" if code != "000000" else "111111"
    assert fake.taobao.error(AGREE, refund_infos=f"{rid}|150000", code=wrong)["sub_code"] == (
        "isv.sms-verify-code-error"
    )
    result = fake.taobao.ok(AGREE, refund_infos=f"{rid}|150000", code=code)
    assert result["msg_code"] == "OP_SUCC"
    small = fake.case(order_status="shipped", paid_amount=100_000)
    assert fake.taobao.ok(AGREE, refund_infos=f"{small}|100000")["msg_code"] == "OP_SUCC"


def test_messages_memo_logistics_and_item(fake: Fake) -> None:
    rid = fake.case(
        order_status="delivered",
        reason="damaged",
        logistics_status="delivered",
        carrier="SF",
        waybill="SF999",
        delivered_at="2026-11-10T12:00:00+08:00",
        item={"sku": "A1", "title": "mug", "price": 2500, "no_reason_eligible": False},
    )
    tid = _detail(fake, rid, "tid,num_iid")
    png = {"image": ("a.png", io.BytesIO(PNG), "image/png")}
    added = fake.taobao.ok(
        "taobao.refund.message.add", files=png, refund_id=rid, content="请补充照片"
    )
    assert added["refund_message"]["id"] > 0
    assert (
        fake.taobao.error("taobao.refund.message.add", refund_id=rid, content="x")["sub_code"]
        == "isv.missing-parameter:image"
    )
    fake.taobao.ok("taobao.trade.memo.add", tid=tid["tid"], memo="退款处理中")
    assert fake.taobao.error("taobao.trade.memo.add", tid=tid["tid"], memo="x")["code"] == 15
    fake.taobao.ok("taobao.trade.memo.update", tid=tid["tid"], memo="已退款", flag=2)
    trade = fake.taobao.ok("taobao.trade.get", tid=tid["tid"], fields="seller_memo,seller_flag")
    assert trade["trade"] == {"seller_memo": "已退款", "seller_flag": 2}
    trace = fake.taobao.ok("taobao.logistics.trace.search", tid=tid["tid"])
    assert (trace["company_name"], trace["out_sid"]) == ("SF", "SF999")
    assert trace["trace_list"]["transit_step_info"][-1]["action"] == "SIGNED"
    assert trace["signed_time"] == "2026-11-10 12:00:00"
    item = fake.taobao.ok(
        "taobao.item.seller.get", num_iid=tid["num_iid"], fields="title,price,no_reason_7d"
    )
    assert item["item"] == {"title": "mug", "price": "25.00", "no_reason_7d": False}
    effects = [e["effect"] for e in fake.ledger()]
    assert effects == ["message_buyer", "write_order_memo", "write_order_memo"]
