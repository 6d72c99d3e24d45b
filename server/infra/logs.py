"""Log lines as an operator reads them: `LOG_FORMAT=text` (the default) or `json`.

`json` writes one object per line — time, level, logger, message, request_id, and on a
request's access line its route template, method, status and duration — for a log shipper to
parse. Either way every line written while a request is being answered carries that request's
id (server/edge/request_context.py sets it), so one request's lines can be found together.

Log lines never carry a secret: the access line names the route *template*
(`/calendar/<token>.ics`), never the raw path or query string, and Hypercorn's own access log
(which would print both) is off.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(request_suffix)s"
ACCESS_LOGGER = "appointly.access"
# Fields an access line adds to its record (`extra=`), written by the JSON format.
ACCESS_FIELDS = ("route", "method", "status", "duration", "client")
URL_LOGGERS = ("httpx", "httpcore", "caldav", "stripe", "twilio.http_client")


@dataclass
class RequestLogContext:
    """What the log knows about the request being answered (one object per request, shared
    by every task that serves it)."""

    request_id: str
    route: str | None = None


_current: ContextVar[RequestLogContext | None] = ContextVar("appointly_request", default=None)


def current_request() -> RequestLogContext | None:
    return _current.get()


def current_request_id() -> str | None:
    context = _current.get()
    return None if context is None else context.request_id


def enter_request(context: RequestLogContext) -> object:
    """Make `context` the current request's; returns the token `leave_request` takes."""
    return _current.set(context)


def leave_request(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


_base_factory = logging.getLogRecordFactory()


def _record_with_request(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    context = _current.get()
    record.request_id = None if context is None else context.request_id
    record.request_suffix = "" if context is None else f" [request_id={context.request_id}]"
    return record


def prepare_logging() -> None:
    """Every log record made from now on carries the current request's id (idempotent; also
    for handlers configured by someone else, such as pytest's caplog), and HTTP clients keep
    the URLs they call out of the log."""
    if logging.getLogRecordFactory() is not _record_with_request:
        logging.setLogRecordFactory(_record_with_request)
    # httpx logs every request's full URL at INFO: busy-calendar feeds and webhook endpoints
    # carry their owners' secrets in theirs. Failures still reach the log as our own lines.
    for name in URL_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in ACCESS_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()


def formatter_for(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """The process's one log handler (stderr) in `log_format`; the cli calls this first."""
    prepare_logging()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter_for(log_format))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # Python's warnings (deprecations at import) become log lines too: JSON stays JSON.
    logging.captureWarnings(True)
