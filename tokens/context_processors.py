from functools import partial

from .access_reviews import items_waiting_for
from .selectors import owns_services, pending_approval_count, waiting_access_request_count


def approvals(request):
    # Callables: the template counts only where it shows the numbers (the navigation).
    user = getattr(request, "user", None)
    return {
        "approvals_waiting": partial(pending_approval_count, user),
        "access_requests_waiting": partial(waiting_access_request_count, user),
        # Service owners decide their services' grants in access reviews.
        "owns_services": partial(owns_services, user),
        "access_reviews_waiting": partial(items_waiting_for, user),
    }
