import re
import uuid

from nhiportal.conf import nhi_setting

from .context import request_id_var

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


class RequestIdMiddleware:
    """Give every request an id for the audit log, and send it back as X-Request-ID.

    The id is the portal's own: a client's X-Request-ID is any client's to write, and taking it
    would let anyone file their events under the id of someone else's request (the audit page
    and API filter by it). Only behind a proxy that sets the header on every request, replacing
    what the client sent, may NHI_TRUST_REQUEST_ID keep it, so the audit log and the proxy's
    logs share one id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = uuid.uuid4().hex
        if nhi_setting("TRUST_REQUEST_ID"):
            incoming = request.headers.get("X-Request-ID", "")
            if _SAFE_REQUEST_ID.match(incoming):
                request_id = incoming
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response
