"""Per-request context the audit log records: the request id."""

import contextvars

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("nhi_request_id", default="")
