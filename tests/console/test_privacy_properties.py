"""Free text a buyer types is masked before it is stored: properties over generated personal
data (names after 收件人/姓名, addresses, landlines, mobiles, WeChat ids, 18-digit ID numbers)
embedded in generated ordinary text."""

from __future__ import annotations

from datetime import timedelta

from console_helpers import START, make_case
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.privacy import REDACTED, mask_free_text, scrub
from connector.store import Store

FILLER = st.text(alphabet="的了是不好吗请退款杯子漏水坏谢谢货，。！ ", max_size=20)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂"
NAMES = st.builds(lambda s, g: s + g, st.sampled_from(SURNAMES),
                  st.text(alphabet=GIVEN, min_size=1, max_size=2))
LABELS = st.sampled_from(["收件人", "姓名", "收货人", "联系人"])
SEPARATORS = st.sampled_from(["", "：", ":", " ", "： "])
MOBILES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
LANDLINES = st.builds(lambda area, sep, num: f"0{area}{sep}{num}",
                      st.from_regex(r"[1-9][0-9]{1,2}", fullmatch=True),
                      st.sampled_from(["-", "", " "]),
                      st.from_regex(r"[2-8][0-9]{6,7}", fullmatch=True))
IDS = st.from_regex(r"[1-6][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9])[0-9]{3}[0-9X]",
                    fullmatch=True)
WECHAT = st.builds(lambda label, sep, wid: (label, sep, wid),
                   st.sampled_from(["微信", "微信号", "VX", "vx", "wx", "WeChat"]),
                   st.sampled_from(["", "：", ":", " "]),
                   st.from_regex(r"[a-z][-_a-z0-9]{5,15}", fullmatch=True))
PROVINCES = st.sampled_from(["浙江省杭州市", "广东省深圳市", "北京市", "上海市", "四川省成都市"])
DISTRICTS = st.sampled_from(["西湖区", "南山区", "朝阳区", "浦东新区", "武侯区"])
STREETS = st.sampled_from(["文三路", "科技园路", "建国路", "世纪大道", "人民南路"])
NUMBERS = st.integers(min_value=1, max_value=999)


@given(FILLER, LABELS, SEPARATORS, NAMES, FILLER)
def test_a_name_after_its_label_is_masked(
    before: str, label: str, sep: str, name: str, after: str
) -> None:
    masked = mask_free_text(f"{before}{label}{sep}{name}，{after}")
    assert f"{label}{sep}{REDACTED}" in masked


@given(FILLER, st.one_of(MOBILES, LANDLINES, IDS), FILLER)
def test_phone_and_id_numbers_are_masked(before: str, number: str, after: str) -> None:
    masked = mask_free_text(f"{before}{number}{after}")
    assert number not in masked
    assert REDACTED in masked


@given(FILLER, WECHAT, FILLER)
def test_wechat_ids_are_masked(before: str, wechat: tuple[str, str, str], after: str) -> None:
    label, sep, wid = wechat
    masked = mask_free_text(f"{before}{label}{sep}{wid} {after}")
    assert wid not in masked


@given(FILLER, PROVINCES, DISTRICTS, STREETS, NUMBERS, st.booleans())
def test_addresses_are_masked(
    before: str, city: str, district: str, street: str, number: int, labelled: bool
) -> None:
    address = f"{city}{district}{street}{number}号"
    text = f"{before}{'地址：' if labelled else ''}{address}"
    masked = mask_free_text(text)
    assert street not in masked
    assert f"{number}号" not in masked


@given(st.text(max_size=80))
def test_masking_is_idempotent(text: str) -> None:
    once = mask_free_text(text)
    assert mask_free_text(once) == once


@given(FILLER)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask_free_text(text) == text


def test_order_ids_in_payload_fields_are_not_touched() -> None:
    raw = {"tid": "2026111212345678901", "refund_id": "110519491231002", "reason": "收件人：张三"}
    cleaned = scrub(raw)
    assert cleaned["tid"] == raw["tid"]
    assert cleaned["refund_id"] == raw["refund_id"]
    assert cleaned["reason"] == f"收件人：{REDACTED}"


@settings(max_examples=20, deadline=None)
@given(NAMES, IDS)
def test_the_store_keeps_no_typed_personal_data(name: str, id_number: str) -> None:
    store = _STORE[0]
    case = make_case(case_id=f"P{abs(hash((name, id_number))) % 10**9}",
                     deadline_at=(START + timedelta(hours=5)).isoformat(),
                     reason_text=f"姓名：{name}，身份证{id_number}，地址：杭州市西湖区文三路1号")
    record = store.upsert_case(case).record
    assert name not in record.case.reason_text
    assert id_number not in record.case.reason_text
    assert "文三路" not in record.case.reason_text


_STORE: list[Store] = []


def setup_module() -> None:  # one store for every generated example
    import tempfile
    from pathlib import Path

    from connector.clock import FakeClock
    from connector.store import open_store

    _STORE.append(open_store(Path(tempfile.mkdtemp()) / "state", clock=FakeClock(START)))


def teardown_module() -> None:
    _STORE.pop().close()
