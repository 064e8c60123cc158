"""A small client for the ``/__mock`` control API every fake implements (docs/mocks.md).

Platform-neutral: it speaks CaseSpecs, buyer actions, fault rules, the ledger and the request
log, so the conformance kit, the daemon tests and the chaos checker drive any fake the same way.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

JsonDict = dict[str, Any]


class MockControlError(AssertionError):
    """The fake refused a control request (a broken test setup, not an adapter failure)."""


class MockControl:
    """``with MockControl(base_url) as control:``, one method per control route."""

    def __init__(self, base_url: str, *, timeout_s: float = 10.0) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MockControl:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, method: str, path: str, body: JsonDict | None = None, **params: Any) -> Any:
        response = self._http.request(method, path, json=body, params=params or None)
        if response.status_code >= 400:
            msg = f"{method} {path} -> {response.status_code}: {response.text[:300]}"
            raise MockControlError(msg)
        return response.json()

    def now(self) -> datetime:
        return datetime.fromisoformat(self._call("GET", "/__mock/clock")["now"])

    def advance(self, seconds: float) -> datetime:
        return datetime.fromisoformat(
            self._call("POST", "/__mock/clock", {"advance_s": seconds})["now"]
        )

    def seed(self, specs: list[JsonDict]) -> list[str]:
        return list(self._call("POST", "/__mock/cases", {"cases": specs})["case_ids"])

    def cases(self, shop: str | None = None) -> list[JsonDict]:
        if shop:
            return list(self._call("GET", "/__mock/cases", shop=shop)["cases"])
        return list(self._call("GET", "/__mock/cases")["cases"])

    def case(self, case_id: str) -> JsonDict:
        result: JsonDict = self._call("GET", f"/__mock/cases/{case_id}")
        return result

    def buyer(self, case_id: str, action: JsonDict) -> JsonDict:
        result: JsonDict = self._call("POST", f"/__mock/buyer/{case_id}", action)
        return result

    def faults(self, *rules: JsonDict) -> int:
        return int(self._call("POST", "/__mock/faults", {"rules": list(rules)})["rules"])

    def clear_faults(self) -> None:
        self._call("DELETE", "/__mock/faults")

    def ledger(self, since: int = 0) -> tuple[list[JsonDict], int]:
        body = self._call("GET", "/__mock/ledger", since=since)
        return list(body["entries"]), int(body["next"])

    def requests(self, since: int = 0) -> tuple[list[JsonDict], int]:
        body = self._call("GET", "/__mock/requests", since=since)
        return list(body["requests"]), int(body["next"])

    def reset(self) -> None:
        self._call("POST", "/__mock/reset")
