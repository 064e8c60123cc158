"""Logging set-up for the command line: text or JSON lines, with a redaction backstop.

Only the CLI configures logging. Records carry context in ``extra``; the filter masks anything
that looks like a phone number or a credential, in case a message ever carries one.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_SECRET_KV = re.compile(
    r"(?i)\b(app_secret|secret|session|access_token|sign|password|api_key)=([^&\s,;]+)"
)
_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def redact(text: str) -> str:
    text = _PHONE.sub("[phone]", text)
    return _SECRET_KV.sub(lambda m: f"{m.group(1)}=[redacted]", text)


class RedactingFilter(logging.Filter):
    """Render the message with its arguments, then redact the result.

    Redacting the format string alone would miss secrets passed as ``%s`` arguments, and
    would break the record (``secret=%s`` loses its placeholder), so logging would print the
    raw arguments in its own error report instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                message = record.msg
            record.msg = redact(message)
            record.args = None
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in _extras(record).items():
            doc[key] = (
                value if isinstance(value, int | float | bool | type(None)) else redact(str(value))
            )
        if record.exc_info:
            doc["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(doc, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        base = f"{self.formatTime(record)} {record.levelname:<7} {record.name}: "
        text = base + redact(record.getMessage()) + (f" [{redact(extras)}]" if extras else "")
        if record.exc_info:
            text += "\n" + redact(self.formatException(record.exc_info))
        return text


def configure(*, json_lines: bool = False, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # "skipped: maximum number of running instances" is the ticker coalescing by design.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
