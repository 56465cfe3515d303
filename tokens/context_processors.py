from functools import partial

from .selectors import pending_approval_count


def approvals(request):
    # A callable: the template counts only where it shows the number (the navigation).
    return {"approvals_waiting": partial(pending_approval_count, getattr(request, "user", None))}
