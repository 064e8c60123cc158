"""Platform calls per case, per platform: fetching every fact versus only what is read (issue 15).

    python -m benchmarks.fetch_calls [--json] [--cases 300]

For each platform (Taobao with a Taobao and a Tmall shop; JD), two fresh fakes on loopback get
the same generated mix (the fakes' scenario generator, one seed). A daemon with the default
policy takes every case in (a full poll of each shop), decides and sends until nothing is due:
once with ``get_case`` forced to fetch every fact (the behaviour before issue 15), once as
shipped (the facts ``connector.policy.reads`` picks). Calls are counted from each fake's request
log: ``intake`` is list + get, ``total`` adds the writes and their re-reads. Figures, not a test.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.clock import SystemClock
from connector.daemon.runtime import build_daemon
from connector.facts import ALL_FACTS, Fact
from connector.models import RefundCase
from connector.settings import ConnectorSettings
from connector.store import open_store
from connector.testing.mock_control import MockControl
from mocks.jd import JdConfig, JdMock, JdShop
from mocks.jd import create_app as create_jd_app
from mocks.kit.server import BackgroundServer
from mocks.taobao import TaobaoConfig, TaobaoMock
from mocks.taobao import create_app as create_taobao_app

SEED = 20261204
JD_SHOP, JD_TOKEN, JD_BU = "jd-shop", "bench-jd-token", "10001"


@dataclass(frozen=True)
class Platform:
    name: str
    start: Callable[[ExitStack], tuple[str, list[dict[str, Any]], list[str]]]
    """Serve a fresh fake; return its URL, the daemon's shop entries and the shop ids."""


def _taobao(stack: ExitStack) -> tuple[str, list[dict[str, Any]], list[str]]:
    config = TaobaoConfig(sms_threshold_fen=None)
    app = create_taobao_app(TaobaoMock(config), test_mode=True)
    url = stack.enter_context(BackgroundServer(app))
    shops = [
        {
            "shop_id": shop.shop_id,
            "platform": "taobao",
            "quota": {"calls_per_second": 10_000},
            "settings": {
                "base_url": url,
                "app_key": config.app_key,
                "app_secret": config.app_secret,
                "session": shop.session,
                "tmall": shop.tmall,
                "page_size": 50,
                "return_address_id": "addr-1",
            },
        }
        for shop in config.shops
    ]
    return url, shops, [shop.shop_id for shop in config.shops]


def _jd(stack: ExitStack) -> tuple[str, list[dict[str, Any]], list[str]]:
    config = JdConfig(shops=[JdShop(JD_SHOP, JD_TOKEN, JD_BU)])
    url = stack.enter_context(BackgroundServer(create_jd_app(JdMock(config), test_mode=True)))
    shop = {
        "shop_id": JD_SHOP,
        "platform": "jd",
        "quota": {"calls_per_second": 10_000},
        "settings": {
            "base_url": url,
            "app_key": config.app_key,
            "app_secret": config.app_secret,
            "access_token": JD_TOKEN,
            "bu_id": JD_BU,
            "operate_pin": "shop_ops",
            "operate_nick": "bench",
            "page_size": 50,
            "return_contact_name": "Shop Returns",
            "return_contact_tel": "010-12345678",
            "return_province": 1,
            "return_city": 72,
            "return_county": 2819,
            "return_address_detail": "1 Warehouse Rd",
        },
    }
    return url, [shop], [JD_SHOP]


PLATFORMS = (Platform("taobao", _taobao), Platform("jd", _jd))


@contextmanager
def _every_fact() -> Iterator[None]:
    """Intake as before issue 15: one ``get_case`` with every fact, then enrichment."""
    import connector.daemon.core as core

    def fetch_everything(
        get: Callable[[frozenset[Fact]], RefundCase],
        listed: RefundCase,
        policies: Any,
        *,
        enrich: Callable[[RefundCase], RefundCase] = lambda case: case,
        **_ignored: Any,
    ) -> RefundCase:
        del listed, policies
        return enrich(get(ALL_FACTS))

    name = "fetch_with_facts"  # the intake's call (connector/daemon/core.py)
    chosen = getattr(core, name)
    setattr(core, name, fetch_everything)
    try:
        yield
    finally:
        setattr(core, name, chosen)


def measure(platform: Platform, cases: int, *, every_fact: bool) -> dict[str, Any]:
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="fetch-calls-") as tmp:
        url, shops, shop_ids = platform.start(stack)
        control = stack.enter_context(MockControl(url))
        control._call("POST", "/__mock/scenario", {"seed": SEED, "count": cases, "shops": shop_ids})
        time.sleep(2.0)  # noqa: TID251 - lists end before the current second: let it pass
        settings = ConnectorSettings(daemon={"http_timeout_s": 10}, shops=shops)
        clock = SystemClock()
        store = open_store(Path(tmp) / "state", clock=clock)
        stack.callback(store.close)
        daemon = build_daemon(settings, store=store, clock=clock, sleep=lambda _s: None)
        stack.callback(daemon.close)
        if every_fact:
            stack.enter_context(_every_fact())
        _, start = control.requests()
        seen = sum(daemon.poll_shop(shop, full=True).seen for shop in daemon.shops.values())
        intake, after_intake = control.requests(start)
        daemon.run_once()
        rest, _ = control.requests(after_intake)
        methods = Counter(str(r.get("method")) for r in intake)
        return {
            "cases": seen,
            "intake_calls_per_case": round(len(intake) / max(seen, 1), 3),
            "total_calls_per_case": round((len(intake) + len(rest)) / max(seen, 1), 3),
            "intake_calls_by_method": dict(sorted(methods.items())),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--cases", type=int, default=300, help="generated cases per platform")
    args = parser.parse_args()
    result: dict[str, Any] = {}
    for platform in PLATFORMS:
        before = measure(platform, args.cases, every_fact=True)
        after = measure(platform, args.cases, every_fact=False)
        result[platform.name] = {"every_fact": before, "facts_read": after}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name, figures in result.items():
        for label, row in figures.items():
            intake, total = row["intake_calls_per_case"], row["total_calls_per_case"]
            print(
                f"{name:7} {label:10} cases {row['cases']:5}  "
                f"intake/case {intake:6.2f}  total/case {total:6.2f}"
            )


if __name__ == "__main__":
    main()
