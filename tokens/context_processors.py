from functools import partial

from .access_reviews import items_waiting_for
from .exposures import may_confirm
from .selectors import exposure_list, owns_services, pending_approval_count, waiting_access_request_count


def open_exposure_count(user) -> int:
    """The open exposures (neither confirmed nor dismissed) this person triages: security admins
    only, who confirm or dismiss them (tokens/exposures.may_confirm); 0 for anyone else, who
    decides none. One count over the exposures the list shows under ?state=open."""
    return exposure_list(user=user, state="open").count() if may_confirm(user) else 0


def approvals(request):
    # Callables: the template counts only where it shows the numbers (the navigation).
    user = getattr(request, "user", None)
    return {
        "approvals_waiting": partial(pending_approval_count, user),
        "access_requests_waiting": partial(waiting_access_request_count, user),
        # Service owners decide their services' grants in access reviews.
        "owns_services": partial(owns_services, user),
        "access_reviews_waiting": partial(items_waiting_for, user),
        "exposures_waiting": partial(open_exposure_count, user),
    }
