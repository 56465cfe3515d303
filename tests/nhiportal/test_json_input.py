"""JSON the portal is sent is read strictly: a number past a float's range (1e400) is no
number, as NaN and Infinity are not, rather than infinity stored as a reason or compared as a
time; refused with a 400 that says why, and nothing is written."""

import pytest

from inventory.models import AIIdentity
from nhiportal.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity"])
def test_a_number_no_float_holds_is_a_400_and_nothing_is_written(number, alice, client_for, make_identity):
    identity = make_identity(alice)
    before = AuditEvent.objects.count()
    response = client_for(alice).post(
        f"/api/v1/identities/{identity.pk}/attest/", f'{{"reason": {number}}}', content_type="application/json",
    )
    assert response.status_code == 400 and "JSON" in response.json()["detail"]
    assert AuditEvent.objects.count() == before and AIIdentity.objects.get(pk=identity.pk).version == identity.version

