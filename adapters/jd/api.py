"""One method per JOS operation: pack ``360buy_param_json``, call ``/routerjson``, unwrap.

A JOS answer is good only when all three layers say so: no ``error_response``, the
``jingdong_<method>_responce`` wrapper has ``code "0"``, and its business object
(``queryResult``, ``replyResult``, ``pageResult``, ``result``) has ``success: true``. Each method
returns that business object as sent; mapping is ``mapping.py``'s job. Every ``jingdong.asc.*``
call carries the operator fields (``buId``, ``operatePin``, ``operateNick``) from the settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from adapters._rpc.client import GatewayClient
from adapters._rpc.envelope import dig, require_mapping
from adapters._rpc.errors import PlatformFault, raise_for_fault
from adapters._rpc.transport import Operation
from adapters.jd.auth import PARAM_JSON, param_json
from adapters.jd.errors import JOS_ERRORS, business_fault, gateway_fault
from adapters.jd.settings import JdSettings

PLATFORM = "jd"

REFUND_LIST = "jingdong.pop.afs.soa.refundapply.queryPageList"
REFUND_BY_ID = "jingdong.pop.afs.soa.refundapply.queryById"
REFUND_REPLY = "jingdong.pop.afs.soa.refundapply.replyRefund"
ASC_SYNC = "jingdong.asc.sync.list"
ASC_AUDIT_LIST = "jingdong.asc.audit.list"
ASC_RECEIVE_LIST = "jingdong.asc.receive.list"
ASC_VIEW = "jingdong.asc.query.view"
ASC_FREIGHT = "jingdong.asc.freight.view"
ASC_REFUSE = "jingdong.asc.audit.refuse"
ASC_SEND = "jingdong.asc.audit.send"
ASC_CLOSE = "jingdong.asc.process.close"


def envelope_key(method: str) -> str:
    """``jingdong.asc.sync.list`` -> ``jingdong_asc_sync_list_responce`` (JD's spelling)."""
    return method.replace(".", "_") + "_responce"


def succeeded(flag: Any) -> bool:
    return flag is True or (isinstance(flag, str) and flag.lower() == "true")


class JosApi:
    """The JOS gateway for one shop."""

    def __init__(self, settings: JdSettings, gateway: GatewayClient) -> None:
        self._settings = settings
        self._gateway = gateway

    def call(
        self,
        method: str,
        business: Mapping[str, Any],
        *,
        result_key: str,
        is_write: bool = False,
        case_id: str | None = None,
    ) -> Mapping[str, Any]:
        """One signed call; the business object under ``result_key`` once it says success.

        ``AlreadyInTargetState`` escapes for writes the platform reports as already done.
        """
        op = Operation(PLATFORM, method, is_write=is_write, case_id=case_id)
        body = self._gateway.post(op, {"method": method, PARAM_JSON: param_json(business)})
        context = op.context()
        rejection = body.get("error_response")
        wrapper = body.get(envelope_key(method))
        if rejection is None and isinstance(wrapper, Mapping) and str(wrapper.get("code")) != "0":
            rejection = wrapper  # the gateway's code inside the wrapper: the same table applies
        if rejection is not None:
            self._raise(gateway_fault(require_mapping(rejection, "error_response", **context)), op)
        key = envelope_key(method)
        wrapper = require_mapping(
            dig(body, key, platform=PLATFORM, operation=method, case_id=case_id), key, **context
        )
        result = require_mapping(
            dig(wrapper, result_key, platform=PLATFORM, operation=method, case_id=case_id),
            result_key,
            **context,
        )
        if not succeeded(result.get("success")):
            self._raise(business_fault(result), op)
        return result

    def _raise(self, fault: PlatformFault, op: Operation) -> NoReturn:
        raise_for_fault(
            JOS_ERRORS,
            fault,
            platform=PLATFORM,
            operation=op.name,
            is_write=op.is_write,
            case_id=op.case_id,
            secrets=self._gateway.secrets,
        )

    def _operator(self) -> dict[str, Any]:
        s = self._settings
        return {"buId": s.bu_id, "operatePin": s.operate_pin, "operateNick": s.operate_nick}

    # ---- refund applications (cancel before shipment) -----------------------------------------

    def refund_page(self, query: Mapping[str, Any], *, page: int, size: int) -> Mapping[str, Any]:
        """``queryResult{success, totalCount, result[]}`` for one page of a query."""
        return self.call(
            REFUND_LIST, {**query, "pageIndex": page, "pageSize": size}, result_key="queryResult"
        )

    def refund_by_id(self, refund_id: str) -> Mapping[str, Any]:
        return self.call(
            REFUND_BY_ID, {"id": refund_id}, result_key="queryResult", case_id=refund_id
        )

    def reply_refund(self, params: Mapping[str, Any], *, case_id: str) -> Mapping[str, Any]:
        return self.call(
            REFUND_REPLY, params, result_key="replyResult", is_write=True, case_id=case_id
        )

    # ---- after-sale service orders -------------------------------------------------------------

    def service_sync(self, query: Mapping[str, Any], *, page: int, size: int) -> Mapping[str, Any]:
        """``pageResult{success, data[], totalCount, ...}`` of service orders by update time."""
        params = {**self._operator(), **query, "pageNumber": page, "pageSize": size}
        return self.call(ASC_SYNC, params, result_key="pageResult")

    def service_view(self, service_id: str, order_id: str | None = None) -> Mapping[str, Any]:
        params = {**self._operator(), "serviceId": service_id, "orderId": order_id}
        return self.call(ASC_VIEW, params, result_key="result", case_id=service_id)

    def audit_rows(self, service_id: str) -> Mapping[str, Any]:
        """``audit.list`` rows (``WaitAuditApply``, with ``auditOvertime``) for one service."""
        return self._rows_for(ASC_AUDIT_LIST, service_id)

    def receive_rows(self, service_id: str) -> Mapping[str, Any]:
        """``receive.list`` rows (awaiting the goods, with ``receiveOvertime``) for one service."""
        return self._rows_for(ASC_RECEIVE_LIST, service_id)

    def _rows_for(self, method: str, service_id: str) -> Mapping[str, Any]:
        params = {**self._operator(), "serviceId": service_id, "pageNumber": 1, "pageSize": 10}
        return self.call(method, params, result_key="pageResult", case_id=service_id)

    def service_freight(self, service_id: str, order_id: str | None) -> Mapping[str, Any]:
        params = {**self._operator(), "serviceId": service_id, "orderId": order_id}
        return self.call(ASC_FREIGHT, params, result_key="result", case_id=service_id)

    def service_write(
        self, method: str, params: Mapping[str, Any], *, case_id: str
    ) -> Mapping[str, Any]:
        """An ``asc`` write (refuse, send, receive, close): operator fields are added here."""
        return self.call(
            method,
            {**self._operator(), **params},
            result_key="result",
            is_write=True,
            case_id=case_id,
        )
