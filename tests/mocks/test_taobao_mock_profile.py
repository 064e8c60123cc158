"""The seeded fault profile (F10/F15) switched on through /__mock/faults/profile, served by the
Taobao fake: outages, late visibility, malformed list items, page churn, buyer edits, per-call
rates."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from mock_taobao_support import START, Fake

from connector.clock import FakeClock
from mocks.kit.profile import PROFILES, FaultProfile, ProfileRates, parse_profile

LIST = "taobao.refunds.receive.get"
AGREE = "taobao.rp.refunds.agree"
FIELDS = "refund_id,refund_fee,modified,refund_version,status"


def _quiet(**rates: float) -> ProfileRates:
    """A profile with every share 0 except the ones given."""
    zero = dict.fromkeys(
        (
            "http_5xx", "ban", "hang", "reset", "write_drop", "malformed_item",
            "page_churn", "late_visibility", "buyer_change",
        ),
        0.0,
    )  # fmt: skip
    return ProfileRates(**{**zero, **rates}, outages=0)


def _install(fake: Fake, rates: ProfileRates, seed: int = 3) -> FaultProfile:
    profile = FaultProfile(name="test", seed=seed, rates=rates, started=START, outages=[])
    fake.mock.profile = profile
    return profile


def _listed(fake: Fake, **params: str) -> list[dict[str, str]]:
    body = fake.taobao.ok(LIST, fields=FIELDS, **params)
    return list(body["refunds"]["refund"])


def test_profile_switched_on_and_off_through_the_control_api(fake: Fake) -> None:
    body = {"name": "F10", "seed": 5, "outages": [{"start_s": 10, "duration_s": 30}]}
    view = fake.control("POST", "/faults/profile", body)
    assert (view["name"], view["seed"]) == ("F10", 5)
    assert view["outages"][0]["start"] == (START + timedelta(seconds=10)).isoformat()
    assert fake.control("GET", "/faults/profile")["active"] is True
    stopped = fake.control("DELETE", "/faults/profile")
    assert stopped["active"] is False
    assert stopped["name"] == "F10"
    assert fake.mock.profile is None


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"name": "F99"}, "name"),
        ({"name": "F10", "seed": "x"}, "seed"),
        ({"name": "F10", "outages": [{"start_s": -1}]}, "outages[0].start_s"),
        ({"name": "F10", "outages": [{"start_s": 1, "mode": "smoke"}]}, "outages[0].mode"),
        ({"name": "F10", "colour": 1}, "colour"),
    ],
)
def test_a_bad_profile_body_is_refused_naming_the_field(
    fake: Fake, body: dict[str, object], names: str
) -> None:
    response = fake.http.post("/__mock/faults/profile", json=body)
    assert response.status_code == 400
    assert names in response.json()["error"]


def test_an_outage_answers_503_to_every_call_until_it_ends(fake: Fake, clock: FakeClock) -> None:
    rid = fake.case(deadline_s=3600)
    profile = parse_profile({"name": "F10", "outages": [{"start_s": 5, "duration_s": 30}]}, START)
    profile.rates = _quiet()  # only the outage
    fake.mock.profile = profile
    assert fake.taobao.ok("taobao.refund.get", fields="refund_id", refund_id=rid)["refund"]
    clock.advance(timedelta(seconds=6))
    params = fake.taobao.params("taobao.refund.get", fields="refund_id", refund_id=rid)
    assert fake.taobao.raw(params).status_code == 503
    clock.advance(timedelta(seconds=30))
    assert fake.taobao.ok("taobao.refund.get", fields="refund_id", refund_id=rid)["refund"]
    assert profile.injected["outage_503"] == 1


def test_a_late_case_is_listed_only_after_its_delay(fake: Fake, clock: FakeClock) -> None:
    ids = [fake.case(deadline_s=3600) for _ in range(40)]
    profile = _install(fake, _quiet(late_visibility=0.5))
    listed = {r["refund_id"] for r in _listed(fake, page_size="100")}
    hidden = set(ids) - listed
    assert 0 < len(hidden) < len(ids)
    late = profile.view()["late"]
    assert {entry["case_id"] for entry in late} == hidden
    for entry in late:  # when each became listable, for the chaos checker's escalation clock
        listed_from = datetime.fromisoformat(entry["listed_from"])
        assert clock.now() < listed_from <= clock.now() + timedelta(seconds=60)
    clock.advance(timedelta(seconds=61))
    assert {r["refund_id"] for r in _listed(fake, page_size="100")} == set(ids)
    # get_case still sees every case: only listings lag.
    for rid in hidden:
        assert fake.taobao.ok("taobao.refund.get", fields="refund_id", refund_id=rid)["refund"]


def test_malformed_items_are_broken_and_remembered(fake: Fake) -> None:
    for _ in range(10):
        fake.case(deadline_s=3600)
    profile = _install(fake, _quiet(malformed_item=1.0))
    items = _listed(fake, page_size="100")
    assert all(item["refund_fee"] == "##broken##" for item in items)
    assert {m["case_id"] for m in profile.malformed} == {i["refund_id"] for i in items}


def test_page_churn_moves_a_case_below_the_page(fake: Fake) -> None:
    for _ in range(6):
        fake.case(deadline_s=3600)
    profile = _install(fake, _quiet(page_churn=1.0))
    before = len([e for e in fake.ledger() if e["effect"] == "buyer_modify"])
    _listed(fake, page_size="3", page_no="1", use_has_next="true")
    after = [e for e in fake.ledger() if e["effect"] == "buyer_modify"]
    assert len(after) == before + 1
    assert profile.injected["page_churn"] == 1


def test_the_buyer_edits_a_chosen_case_once_before_the_first_write(fake: Fake) -> None:
    spec = {"deadline_s": 3600, "type": "refund_only", "order_status": "not_shipped"}
    ids = [fake.case(**spec) for _ in range(30)]
    profile = _install(fake, _quiet(buyer_change=0.5))
    for rid in ids:
        view = fake.view(rid)
        fake.taobao.ok(AGREE, refund_infos=f"{rid}|{view['refund_amount']}|{view['version']}")
    assert 0 < len(profile.view()["buyer_changed"]) < len(ids)
    edited = {e["case_id"] for e in fake.ledger() if e["effect"] == "buyer_modify"}
    assert edited == set(profile.view()["buyer_changed"])


def test_per_call_rates_follow_the_profile() -> None:
    profile = parse_profile({"name": "F10", "seed": 9, "outages": []}, START)
    kinds: Counter[str] = Counter()
    calls = 20_000
    for _ in range(calls):
        fault = profile.pick(now=START, write=True, case_id=None)
        kinds[fault.kind if fault else "none"] += 1
    rates = PROFILES["F10"]
    assert kinds["http_status"] == pytest.approx(calls * rates.http_5xx, rel=0.15)
    assert kinds["platform_error"] == pytest.approx(calls * rates.ban, rel=0.2)
    assert kinds["hang"] == pytest.approx(calls * rates.hang, rel=0.2)
    assert kinds["reset"] == pytest.approx(calls * rates.reset, rel=0.3)
    assert kinds["apply_then_drop"] == pytest.approx(calls * 0.91 * rates.write_drop, rel=0.3)


def test_the_default_schedule_has_the_profiles_outages() -> None:
    f10 = parse_profile({"name": "F10", "seed": 1}, START)
    assert [(o.duration_s, o.mode) for o in f10.outages] == [(30.0, "503"), (30.0, "reset")]
    f15 = parse_profile({"name": "F15", "seed": 1}, START)
    assert [o.duration_s for o in f15.outages] == [60.0, 60.0, 60.0]
