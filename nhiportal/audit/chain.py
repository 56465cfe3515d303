"""The audit chain's arithmetic: canonical form, hash and HMAC of one event."""

import hashlib
import hmac
import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

GENESIS_HASH = "0" * 64


def canonical(fields: dict) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def event_fields(event) -> dict:
    """The fields an event's hash covers (everything but the hash and HMAC themselves)."""
    return {
        "at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "identity_id": str(event.identity_id) if event.identity_id else None,
        # Round-trip through JSON so the hash matches what the database gives back.
        "before": json.loads(canonical(event.before)) if event.before is not None else None,
        "after": json.loads(canonical(event.after)) if event.after is not None else None,
        "reason": event.reason,
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
    }


def event_hash(event) -> str:
    return hashlib.sha256(canonical(event_fields(event))).hexdigest()


def event_hmac(hash_hex: str) -> str:
    key = settings.AUDIT_HMAC_KEY.encode()
    return hmac.new(key, hash_hex.encode(), hashlib.sha256).hexdigest()
