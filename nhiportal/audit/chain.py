"""The audit chain's arithmetic: canonical form, hash and HMAC of one event."""

import hashlib
import hmac
import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

GENESIS_HASH = "0" * 64

# One encoder, as json.dumps(fields, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
# would build per call: an encoder holds only its settings.
_canonical = DjangoJSONEncoder(sort_keys=True, separators=(",", ":")).encode


def canonical(fields: dict) -> bytes:
    return _canonical(fields).encode()


def stored_json(value):
    """A JSON field's value as the database gives it back (datetimes become text, and so on)."""
    return json.loads(canonical(value)) if value is not None else None


def hashed_fields(*, at, actor_id, actor_label, action, object_type, object_id, object_repr, identity_id,
                  before, after, reason, request_id, prev_hash) -> dict:
    """The fields an event's hash covers (everything but the hash and HMAC themselves).
    before and after as stored_json() gives them, so the hash matches what the database gives back."""
    return {
        "at": at.isoformat(),
        "actor_id": actor_id,
        "actor_label": actor_label,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "object_repr": object_repr,
        "identity_id": str(identity_id) if identity_id else None,
        "before": before,
        "after": after,
        "reason": reason,
        "request_id": request_id,
        "prev_hash": prev_hash,
    }


def event_fields(event) -> dict:
    """hashed_fields() of a stored event."""
    return hashed_fields(
        at=event.at, actor_id=event.actor_id, actor_label=event.actor_label, action=event.action,
        object_type=event.object_type, object_id=event.object_id, object_repr=event.object_repr,
        identity_id=event.identity_id, before=stored_json(event.before), after=stored_json(event.after),
        reason=event.reason, request_id=event.request_id, prev_hash=event.prev_hash,
    )


def fields_hash(fields: dict) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


def event_hash(event) -> str:
    return fields_hash(event_fields(event))


def event_hmac(hash_hex: str) -> str:
    key = settings.AUDIT_HMAC_KEY.encode()
    return hmac.new(key, hash_hex.encode(), hashlib.sha256).hexdigest()
