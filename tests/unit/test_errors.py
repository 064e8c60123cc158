"""The error tree is grouped by what to do next; every public error sits under one group."""

from __future__ import annotations

import connector.errors as errors


def test_every_public_error_is_in_all_and_sorted() -> None:
    public = {n for n in dir(errors) if n.endswith("Error") and not n.startswith("_")}
    assert public <= set(errors.__all__)
    assert list(errors.__all__) == sorted(errors.__all__)


def test_groups_say_what_to_do_next() -> None:
    assert issubclass(errors.RateLimitedError, errors.RetryableError)
    assert issubclass(errors.UnavailableError, errors.RetryableError)
    assert issubclass(errors.OutcomeUnknownError, errors.RetryableError)
    for human in (
        errors.ActionForbiddenError,
        errors.StepUpRequiredError,
        errors.NotFoundError,
        errors.InvalidRequestError,
        errors.UnsupportedEffectError,
        errors.MalformedPayloadError,
    ):
        assert issubclass(human, errors.NeedsHumanError)
    for group in (
        errors.RetryableError,
        errors.ReauthRequiredError,
        errors.ConflictError,
        errors.NeedsHumanError,
    ):
        assert issubclass(group, errors.AdapterError)
    assert not issubclass(errors.ConflictError, errors.NeedsHumanError)


def test_adapter_error_message_names_platform_operation_and_codes() -> None:
    err = errors.RateLimitedError(
        "App Call Limited",
        retry_after=3.0,
        platform="taobao",
        operation="taobao.refunds.receive.get",
        platform_code="7",
        sub_code="accesscontrol.limited-by-app-api-access-count",
    )
    text = str(err)
    assert "taobao/taobao.refunds.receive.get" in text
    assert "code 7" in text
    assert err.retry_after == 3.0


def test_malformed_payload_names_field() -> None:
    err = errors.MalformedPayloadError("not a yuan amount", field="refund_fee", platform="taobao")
    assert "refund_fee" in str(err)
    assert err.field == "refund_fee"
