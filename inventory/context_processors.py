from functools import partial

from .selectors import waiting_claim_count


def claims(request):
    # A callable: the template counts only where it shows the number (the navigation).
    return {"claims_waiting": partial(waiting_claim_count, getattr(request, "user", None))}
