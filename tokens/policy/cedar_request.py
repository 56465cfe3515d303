"""The Cedar request: the facts about the agent, the service and the task that policies see.

One shape serves every caller. Issuance builds it from the identity and service rows
(`request_from_portal`, the hot path: no validation beyond what the types guarantee);
examples, the simulator and replay build it from stored or typed-in facts
(`request_from_facts`, strict: unknown facts and wrong types are refused with a message a
person can act on). `CedarRequest.as_json()` is what a PolicyDecision stores, and
`request_from_facts(stored)` reads it back, so replay evaluates exactly what was decided.
"""

import json
from collections import OrderedDict
from dataclasses import dataclass

import cedarpy

from inventory.networks import address_of

from .schema import schema_handle

ACTIONS = ("issue", "exchange", "approve")
UNKNOWN_ADDRESS = "0.0.0.0"  # an address no network policy names: a range check on it fails


class IPAddress:
    """The type of a fact Cedar sees as an ipaddr extension value; stored and typed as text."""

# Fact name -> (type, example value). Examples start from these, so an example only
# spells out what it is about; the order is the order Cedar sees (and the cache key's).
AGENT_FACTS = {
    "status": (str, "active"),
    "owners_active": (bool, True),
    "autonomy": (str, "supervised"),
    "environment": (str, "production"),
    "trust_boundary": (str, "corp-internal"),
    "sensitivity_ceiling": (int, 3),
    "kind": (str, "agent"),
    "risk_score": (int, 0),
    "risk_factors": (list, []),
}
SERVICE_FACTS = {
    "audience": (str, "https://service.example.com"),
    "environment": (str, "production"),
    "trust_boundary": (str, ""),
    "sensitivity": (int, 2),
}
CONTEXT_FACTS = {
    "scopes": (list, ["read"]),
    "granted_scopes": (list, ["read"]),
    "intent": (str, ""),
    "sensitivity": (int, None),  # optional: absent when the request does not say
    "requested_ttl": (int, 300),
    "hour": (int, 12),
    "weekday": (int, 2),
    "human_approval": (bool, False),
    "consequential": (bool, False),
    "sender_constrained": (bool, False),
    "source_address": (IPAddress, UNKNOWN_ADDRESS),
    "credential": (str, "jwk"),
    "new_network": (bool, False),
}
OPTIONAL_CONTEXT = frozenset({"sensitivity"})
EXAMPLE_PRINCIPAL_ID = "example-agent"
EXAMPLE_SERVICE_ID = "example-service"


class FactsError(ValueError):
    """Typed-in or stored facts that do not fit the schema; the message names the fact."""


@dataclass(frozen=True)
class CedarRequest:
    action: str
    principal_id: str
    principal: dict
    service_id: str
    service: dict
    context: dict

    def as_json(self) -> dict:
        return {
            "action": self.action,
            "principal_id": self.principal_id,
            "principal": self.principal,
            "service_id": self.service_id,
            "service": self.service,
            "context": self.context,
        }

    def call(self) -> dict:
        """The request in the form cedarpy.is_authorized takes (the address as Cedar's ipaddr)."""
        context = self.context
        if "source_address" in context:
            context = {**context, "source_address": {"__extn": {"fn": "ip", "arg": context["source_address"]}}}
        return {
            "principal": {"type": "Agent", "id": self.principal_id},
            "action": {"type": "Action", "id": self.action},
            "resource": {"type": "Service", "id": self.service_id},
            "context": context,
        }

    def entities(self) -> cedarpy.Entities:
        return _entities(self.principal_id, self.principal, self.service_id, self.service)


# Parsed entity sets, keyed by every fact they hold, so a changed fact is a new entry and
# never a stale one. Agents ask again and again with the same facts; parsing the two
# entities costs more than the policy evaluation itself.
_ENTITY_CACHE: OrderedDict = OrderedDict()
ENTITY_CACHE_SIZE = 4096


def _entities(principal_id: str, principal: dict, service_id: str, service: dict) -> cedarpy.Entities:
    key = (principal_id, *(tuple(v) if type(v) is list else v for v in principal.values()), service_id, *service.values())
    entities = _ENTITY_CACHE.get(key)
    if entities is not None:
        return entities
    document = [
        {"uid": {"type": "Agent", "id": principal_id}, "attrs": principal, "parents": []},
        {"uid": {"type": "Service", "id": service_id}, "attrs": service, "parents": []},
    ]
    # Built against the schema: a fact of the wrong type fails here, not silently later.
    entities = cedarpy.Entities.from_json_str(json.dumps(document), schema_handle())
    _ENTITY_CACHE[key] = entities
    if len(_ENTITY_CACHE) > ENTITY_CACHE_SIZE:
        _ENTITY_CACHE.popitem(last=False)
    return entities


def agent_facts(identity, *, owners_active: bool) -> dict:
    return {
        "status": identity.status,
        "owners_active": bool(owners_active),
        "autonomy": identity.autonomy,
        "environment": identity.environment,
        "trust_boundary": identity.trust_boundary or "",
        # An unset ceiling is 0, so any data above "nothing" is refused: never fail open.
        "sensitivity_ceiling": int(identity.sensitivity_ceiling or 0),
        "kind": identity.kind,
        # As the sweep last stored them (tokens/posture.py): reading every factor live would
        # cost a dozen queries per token.
        "risk_score": int(identity.risk_score or 0),
        "risk_factors": list(identity.risk_factors or ()),
    }


def service_facts(service) -> dict:
    return {
        "audience": service.audience,
        "environment": service.environment,
        "trust_boundary": service.trust_boundary or "",
        "sensitivity": int(service.sensitivity),
    }


def request_from_portal(request, *, owners_active: bool, at) -> CedarRequest:
    """Build the Cedar request for an engine.PolicyRequest (the issuance hot path)."""
    context = {
        "scopes": list(request.scopes),
        "granted_scopes": list(request.granted_scopes),
        "intent": request.intent or "",
        "requested_ttl": int(request.requested_ttl or 0),
        "hour": at.hour,
        "weekday": at.weekday(),
        "human_approval": bool(request.human_approval),
        "consequential": bool(request.consequential),
        "sender_constrained": bool(request.sender_constrained),
        "source_address": request.source_address or UNKNOWN_ADDRESS,
        "credential": request.credential,
        "new_network": bool(request.new_network),
    }
    if request.sensitivity is not None:
        context["sensitivity"] = int(request.sensitivity)
    return CedarRequest(
        action=request.action,
        principal_id=str(request.identity.pk),
        principal=agent_facts(request.identity, owners_active=owners_active),
        service_id=str(request.service.pk),
        service=service_facts(request.service),
        context=context,
    )


def _fact(section: str, name: str, kind: type, value):
    where = f"{section}.{name}"
    if kind is bool:
        if not isinstance(value, bool):
            raise FactsError(f"{where} must be true or false.")
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise FactsError(f"{where} must be a whole number.")
    elif kind is str:
        if not isinstance(value, str):
            raise FactsError(f"{where} must be text.")
    elif kind is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise FactsError(f"{where} must be a list of texts.")
        value = list(value)
    elif kind is IPAddress:
        ip = address_of(value) if isinstance(value, str) else None
        if ip is None:
            raise FactsError(f"{where} must be an IP address, such as 10.20.3.4 or 2001:db8::7.")
        value = str(ip)
    return value


def _facts(section: str, given, spec: dict, *, optional=frozenset()) -> dict:
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise FactsError(f"{section} must be an object of facts.")
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise FactsError(f"{section} has unknown facts: {', '.join(unknown)} (known: {', '.join(spec)}).")
    facts = {}
    for name, (kind, example) in spec.items():
        value = given.get(name, example)
        if value is None and name in optional:
            continue
        facts[name] = _fact(section, name, kind, value)
    return facts


STORED_KEYS = frozenset({"action", "principal_id", "principal", "service_id", "service", "context"})


def is_stored_request(data) -> bool:
    """Whether a decision's stored request is a Cedar request (portal refusals store a summary)."""
    return isinstance(data, dict) and STORED_KEYS <= data.keys()


def request_from_facts(data: dict) -> CedarRequest:
    """Build a Cedar request from facts typed in (examples, simulator) or stored (replay).

    Facts not given take the example values above. Raises FactsError naming the bad fact.
    """
    if not isinstance(data, dict):
        raise FactsError("A request must be an object.")
    action = data.get("action", "issue")
    if action not in ACTIONS:
        raise FactsError(f"action must be one of {', '.join(ACTIONS)}.")
    principal_id = data.get("principal_id", EXAMPLE_PRINCIPAL_ID)
    service_id = data.get("service_id", EXAMPLE_SERVICE_ID)
    if not isinstance(principal_id, str) or not isinstance(service_id, str) or not principal_id or not service_id:
        raise FactsError("principal_id and service_id must be non-empty texts.")
    return CedarRequest(
        action=action,
        principal_id=principal_id,
        principal=_facts("principal", data.get("principal"), AGENT_FACTS),
        service_id=service_id,
        service=_facts("service", data.get("service"), SERVICE_FACTS),
        context=_facts("context", data.get("context"), CONTEXT_FACTS, optional=OPTIONAL_CONTEXT),
    )
