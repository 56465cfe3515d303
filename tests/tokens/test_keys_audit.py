"""The portal's signing keys (tokens/keys.py): each change names the keys it moved."""

from nhiportal.audit.models import AuditEvent
from tokens.keys import signing_key_create
from tokens.models import KeyState, SigningKey


def test_creating_a_next_key_names_the_next_key_it_retires(sam, audit_actions_during):
    first = signing_key_create(actor=sam)

    second, actions = audit_actions_during(lambda: signing_key_create(actor=sam))

    assert actions == ["signing_key.create"]
    event = AuditEvent.objects.filter(action="signing_key.create").latest("id")
    assert event.before == {"next": [first.kid]}
    assert event.after == {"kid": second.kid, "alg": "ES256", "state": KeyState.NEXT, "retired": [first.kid]}
    assert SigningKey.objects.get(kid=first.kid).state == KeyState.RETIRED


def test_the_first_next_key_replaces_nothing(sam):
    key = signing_key_create(actor=sam)
    event = AuditEvent.objects.get(action="signing_key.create")
    assert event.before is None and event.after == {"kid": key.kid, "alg": "ES256", "state": KeyState.NEXT}
