"""The Taobao fake never pays back more than was paid, even when the buyer asked for more (the
casebook's amount-above-paid situation): found by the chaos run's refunds-above-paid check."""

from __future__ import annotations

from mock_taobao_support import Fake

AGREE = "taobao.rp.refunds.agree"
SPEC = {
    "order_status": "not_shipped",
    "type": "refund_only",
    "paid_amount": 1990,
    "refund_amount": 2000,
    "deadline_s": 60,
}


def test_the_platform_timeout_refunds_at_most_the_paid_amount(fake: Fake) -> None:
    rid = fake.case(**SPEC)
    (act,) = fake.control("POST", "/clock", {"advance_s": 61})["auto_acts"]
    assert (act["effect"], act["amount"]) == ("agree_refund", 1990)
    assert fake.view(rid)["refunded_amount"] == 1990


def test_the_seller_cannot_agree_above_the_paid_amount(fake: Fake) -> None:
    rid = fake.case(**SPEC)
    body = fake.taobao.ok(AGREE, refund_infos=f"{rid}|2000")
    (result,) = body["results"]["refund_mapping_result"]
    assert result["succ"] is False
    assert result["error_code"] == "isv.refund-amount-exceed"
    body = fake.taobao.ok(AGREE, refund_infos=f"{rid}|1990")
    assert body["succ"] is True
    assert fake.view(rid)["refunded_amount"] == 1990
