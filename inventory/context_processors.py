from functools import partial

from .selectors import waiting_attestation_count, waiting_claim_count


def claims(request):
    # Callables: the template counts only where it shows the number (the navigation).
    user = getattr(request, "user", None)
    return {"claims_waiting": partial(waiting_claim_count, user), "attestations_waiting": partial(waiting_attestation_count, user)}
