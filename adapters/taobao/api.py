"""One method per TOP operation: build parameters, call the gateway, unwrap the envelope.

Returns the inner ``<method>_response`` object as the platform sent it; mapping to canonical
models is ``mapping.py``'s job. Nothing here retries or sleeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from adapters._rpc.envelope import require_mapping
from adapters._rpc.errors import PlatformFault, raise_for_fault
from adapters._rpc.signing import FileParts
from adapters._rpc.transport import Operation, post_gateway
from adapters.taobao.errors import TOP_ERRORS
from adapters.taobao.settings import TaobaoSettings
from connector.clock import Clock
from connector.errors import MalformedPayloadError

PLATFORM = "taobao"


def response_key(method: str) -> str:
    """``taobao.refunds.receive.get`` -> ``refunds_receive_get_response``."""
    name = method.removeprefix("taobao.")
    return name.replace(".", "_") + "_response"


def fault_from(error: Mapping[str, Any]) -> PlatformFault:
    return PlatformFault(
        code=str(error.get("code", "")),
        msg=str(error.get("msg") or ""),
        sub_code=str(error.get("sub_code") or ""),
        sub_msg=str(error.get("sub_msg") or ""),
    )


class TopApi:
    """The TOP gateway for one shop."""

    def __init__(
        self, settings: TaobaoSettings, *, http: httpx.Client, auth: httpx.Auth, clock: Clock
    ) -> None:
        self._settings = settings
        self._http = http
        self._auth = auth
        self._clock = clock
        self._secrets = (
            settings.app_secret.get_secret_value(),
            settings.session.get_secret_value(),
        )

    def call(
        self,
        method: str,
        params: Mapping[str, object | None],
        *,
        is_write: bool = False,
        case_id: str | None = None,
        files: FileParts | None = None,
    ) -> Mapping[str, Any]:
        """One signed call; the ``<method>_response`` object, or the mapped error raised.

        ``AlreadyInTargetState`` escapes for writes the platform reports as already done.
        """
        op = Operation(PLATFORM, method, is_write=is_write, case_id=case_id)
        body = post_gateway(
            self._http,
            self._settings.gateway_url,
            op,
            {"method": method, **params},
            auth=self._auth,
            files=files,
            now=self._clock.now(),
            secrets=self._secrets,
            max_body_bytes=self._settings.max_body_bytes,
        )
        if "error_response" in body:
            error = require_mapping(body["error_response"], "error_response", **op.context())
            raise_for_fault(
                TOP_ERRORS,
                fault_from(error),
                platform=PLATFORM,
                operation=method,
                is_write=is_write,
                case_id=case_id,
                secrets=self._secrets,
            )
        key = response_key(method)
        if key not in body:
            # ``simplify=true`` answers drop the wrapper; we never ask for it, so this is broken.
            raise MalformedPayloadError("is missing", field=key, **op.context())
        return require_mapping(body[key], key, **op.context())

    # ---- reads ---------------------------------------------------------------------------------

    def refunds_receive_get(
        self,
        *,
        fields: Iterable[str],
        start_modified: str,
        end_modified: str,
        page_no: int,
        page_size: int,
        status: str | None = None,
        use_has_next: bool = True,
    ) -> Mapping[str, Any]:
        """``use_has_next`` answers ``has_next`` cheaply; false answers ``total_results``."""
        return self.call(
            "taobao.refunds.receive.get",
            {
                "fields": ",".join(fields),
                "start_modified": start_modified,
                "end_modified": end_modified,
                "status": status,
                "page_no": page_no,
                "page_size": page_size,
                "use_has_next": use_has_next,
            },
        )

    def refund_get(self, refund_id: str, *, fields: Iterable[str]) -> Mapping[str, Any]:
        return self.call(
            "taobao.refund.get",
            {"refund_id": refund_id, "fields": ",".join(fields)},
            case_id=refund_id,
        )

    def refund_messages_get(
        self,
        refund_id: str,
        *,
        fields: Iterable[str],
        page_no: int,
        page_size: int = 100,
        refund_phase: str | None = None,
    ) -> Mapping[str, Any]:
        return self.call(
            "taobao.refund.messages.get",
            {
                "refund_id": refund_id,
                "fields": ",".join(fields),
                "page_no": page_no,
                "page_size": page_size,
                "refund_phase": refund_phase,
            },
            case_id=refund_id,
        )

    def logistics_trace_search(
        self, tid: str, *, refund_id: str | None = None, case_id: str | None = None
    ) -> Mapping[str, Any]:
        """The order's parcel, or with ``refund_id`` the buyer's return parcel of that refund."""
        return self.call(
            "taobao.logistics.trace.search", {"tid": tid, "refund_id": refund_id}, case_id=case_id
        )

    def item_seller_get(self, num_iid: str, *, case_id: str | None = None) -> Mapping[str, Any]:
        return self.call(
            "taobao.item.seller.get",
            {"num_iid": num_iid, "fields": "num_iid,no_reason_7d"},
            case_id=case_id,
        )

    def trade_get(self, tid: str, *, fields: Iterable[str]) -> Mapping[str, Any]:
        return self.call("taobao.trade.get", {"tid": tid, "fields": ",".join(fields)})

    # ---- writes --------------------------------------------------------------------------------

    def rp_refunds_agree(
        self, refund_infos: str, *, code: str | None, case_id: str
    ) -> Mapping[str, Any]:
        return self.call(
            "taobao.rp.refunds.agree",
            {"refund_infos": refund_infos, "code": code},
            is_write=True,
            case_id=case_id,
        )

    def rp_returngoods_agree(
        self, params: Mapping[str, object | None], *, case_id: str
    ) -> Mapping[str, Any]:
        return self.call("taobao.rp.returngoods.agree", params, is_write=True, case_id=case_id)

    def refund_refuse(
        self, params: Mapping[str, object | None], *, proof: FileParts | None, case_id: str
    ) -> Mapping[str, Any]:
        return self.call(
            "taobao.refund.refuse", params, is_write=True, case_id=case_id, files=proof
        )

    def refund_message_add(
        self, params: Mapping[str, object | None], *, image: FileParts | None, case_id: str
    ) -> Mapping[str, Any]:
        return self.call(
            "taobao.refund.message.add", params, is_write=True, case_id=case_id, files=image
        )

    def trade_memo_add(self, tid: str, memo: str, *, case_id: str) -> Mapping[str, Any]:
        return self.call(
            "taobao.trade.memo.add", {"tid": tid, "memo": memo}, is_write=True, case_id=case_id
        )

    def trade_memo_update(self, tid: str, memo: str, *, case_id: str) -> Mapping[str, Any]:
        return self.call(
            "taobao.trade.memo.update", {"tid": tid, "memo": memo}, is_write=True, case_id=case_id
        )
