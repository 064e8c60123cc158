"""Protocol helpers shared by RPC-style marketplace gateways (Taobao TOP, JD JOS, ...).

Nothing here knows a particular platform: signing over sorted parameters, calling one gateway
method, mapping httpx failures and platform error envelopes onto ``connector.errors``, reading
nested envelopes, converting yuan strings and GMT+8 timestamps, and opaque page tokens.
"""

from adapters._rpc.envelope import dig, require_mapping, unwrap_list
from adapters._rpc.errors import (
    ALREADY_DONE,
    AlreadyInTargetState,
    ErrorRule,
    ErrorTable,
    PlatformFault,
    raise_for_fault,
)
from adapters._rpc.paging import decode_token, encode_token, iter_pages
from adapters._rpc.signing import SignedParamsAuth, concat_sorted, sign_concat
from adapters._rpc.transport import Operation, post_gateway, retry_after_from_header
from adapters._rpc.values import format_local_time, parse_local_time, yuan_to_fen

__all__ = [
    "ALREADY_DONE",
    "AlreadyInTargetState",
    "ErrorRule",
    "ErrorTable",
    "Operation",
    "PlatformFault",
    "SignedParamsAuth",
    "concat_sorted",
    "decode_token",
    "dig",
    "encode_token",
    "format_local_time",
    "iter_pages",
    "parse_local_time",
    "post_gateway",
    "raise_for_fault",
    "require_mapping",
    "retry_after_from_header",
    "sign_concat",
    "unwrap_list",
    "yuan_to_fen",
]
