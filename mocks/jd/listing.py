"""What a running fault profile (docs/mocks.md, "Fault profile") does to JD's case lists.

Late visibility hides a changed record from the case listings (``refundapply.queryPageList``,
``asc.sync.list``, ``asc.query.list``) for a while; the deadline boards (``asc.audit.list``,
``asc.receive.list``) and single reads (``queryById``, ``asc.query.view``) always see it, as a
platform's search index lags while its record store does not. Page churn has the buyer change an
open record listed after the page just served, in every case list. Malformed rows break the
money field of rows in the case listings (``applyRefundSum`` fen, ``actualPayPrice`` yuan).
The draws and the bookkeeping are the kit's (``FakePlatform``); the shapes are JD's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mocks.jd import codes as c
from mocks.jd.records import RefundApply, ServiceOrder
from mocks.jd.state import JdMock

# method -> (business object, its row list, the row's case id, the field a broken row loses)
BREAKABLE_LISTS: dict[str, tuple[str, str, str, str]] = {
    "jingdong.pop.afs.soa.refundapply.queryPageList": (
        "queryResult",
        "result",
        "id",
        "applyRefundSum",
    ),
    "jingdong.asc.sync.list": ("pageResult", "data", "serviceId", "actualPayPrice"),
    "jingdong.asc.query.list": ("pageResult", "data", "serviceId", "actualPayPrice"),
    "jingdong.asc.receive.list": ("pageResult", "data", "serviceId", "actualPayPrice"),
}


def listed_now(mock: JdMock, record: RefundApply | ServiceOrder) -> bool:
    """False while late visibility keeps this version of the record out of case listings."""
    if isinstance(record, RefundApply):
        return not mock.hidden_from_listing(
            str(record.apply_id), str(record.status), record.modified
        )
    return not mock.hidden_from_listing(
        str(record.service_id), str(record.sys_version), record.updated
    )


def _open(record: RefundApply | ServiceOrder) -> bool:
    if isinstance(record, RefundApply):
        return record.status in c.APPLY_OPEN
    return record.status not in c.SERVICE_CLOSED


def churn_below(mock: JdMock, below: Iterable[int]) -> None:
    """Page churn: ``below`` are the ids listed after the page being served (empty when it is
    the last page); the profile may have the buyer change an open one before the next read."""
    if mock.profile is None:
        return
    ids = list(below)
    records = [mock.applies.get(i) or mock.services.get(i) for i in ids]
    mock.churn_below([str(i) for i, r in zip(ids, records, strict=True) if r and _open(r)])


def break_listed_rows(
    mock: JdMock, body: dict[str, Any], method: str | None, shop_id: str | None
) -> None:
    """Malformed rows in a successful case-list answer; the profile remembers which."""
    spec = BREAKABLE_LISTS.get(method or "")
    if spec is None or mock.profile is None or not body:
        return
    result_key, rows_key, id_field, field = spec
    wrapper = next(iter(body.values()))  # the one ``jingdong_..._responce`` object
    result = wrapper.get(result_key) if isinstance(wrapper, dict) else None
    rows = result.get(rows_key) if isinstance(result, dict) else None
    if isinstance(rows, list):
        mock.break_listed(rows, shop_id, id_field=id_field, field=field)
