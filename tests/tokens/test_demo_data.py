from django.core.management import call_command

from inventory.models import AIIdentity, Status
from tokens.models import Exposure, Grant, IssuedToken, KeyState, Service, SigningKey, TrustDomain, WorkloadCredential


def test_the_demo_has_a_token_side(db):
    call_command("demo_data", "--identities", "30", verbosity=0)

    assert Service.objects.count() == 7 and TrustDomain.objects.count() == 1
    assert SigningKey.objects.filter(state=KeyState.ACTIVE).count() == 1
    active = AIIdentity.objects.filter(status=Status.ACTIVE)
    assert active.exists()
    assert not active.exclude(credentials__enabled=True).exists()
    assert Grant.objects.filter(revoked_at__isnull=True).exists() and Grant.objects.filter(revoked_at__isnull=False).exists()
    assert IssuedToken.objects.exists()
    assert WorkloadCredential.objects.filter(kind="spiffe").exists()
    # A leaked token, contained, waiting for a security admin to confirm it.
    exposure = Exposure.objects.get()
    assert exposure.status == "reported" and exposure.tokens_revoked == 1
    call_command("audit_verify", verbosity=0)
