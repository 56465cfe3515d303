"""Reading token-request parameters: scopes, destination, task context (RFC 9396), TTL."""

import re
import uuid
from dataclasses import dataclass

from inventory.models import Sensitivity
from nhiportal import json_input

from .errors import INVALID_AUTHORIZATION_DETAILS, INVALID_REQUEST, INVALID_SCOPE, INVALID_TARGET, OAuthError

AGENT_TASK = "agent_task"
TASK_FIELDS = {"type", "intent", "actions", "locations", "datatypes", "sensitivity", "identifier", "privileges"}
LIST_FIELDS = ("actions", "locations", "datatypes", "privileges")
SENSITIVITY_NAMES = {label.lower(): value for value, label in Sensitivity.choices}
MAX_DETAILS_CHARS = 8192
MAX_LIST_ITEMS = 50
# RFC 6749 section 3.3: scope = scope-token *( SP scope-token ), scope-token = 1*( %x21 / %x23-5B
# / %x5D-7E ). The characters tokens/services.py's SCOPE_TOKEN lets a service name a scope with,
# and the space between them.
SCOPE_CHARACTERS = re.compile(r"[\x20\x21\x23-\x5B\x5D-\x7E]*")


@dataclass(frozen=True)
class TaskContext:
    """The validated agent_task entry: what the task is for and what data it touches."""

    details: list  # the normalised authorization_details array, as it goes into the token
    intent: str
    sensitivity: int | None


def unique_param(post, name: str) -> str | None:
    """RFC 6749 section 3.2: parameters are sent at most once."""
    values = post.getlist(name)
    if len(values) > 1:
        raise OAuthError(INVALID_REQUEST, f"The {name} parameter must not repeat.")
    return values[0] if values else None


def scopes_param(post) -> list[str]:
    raw = unique_param(post, "scope") or ""
    if not SCOPE_CHARACTERS.fullmatch(raw):
        # A tab or a line break is no separator, and no scope holds one (nor a quote, a
        # backslash or a character beyond ASCII): refused rather than read as a list.
        raise OAuthError(
            INVALID_SCOPE,
            "scope is a list of scope names separated by spaces; a name is printable ASCII without quotes or backslashes.",
        )
    scopes = list(dict.fromkeys(s for s in raw.split(" ") if s))
    if len(scopes) > 50:
        raise OAuthError(INVALID_SCOPE, "Ask for at most 50 scopes.")
    return scopes


def destination_param(post) -> str | None:
    """One destination: `resource` (RFC 8707) or `audience` (RFC 8693), or both naming the same."""
    resources, audiences = post.getlist("resource"), post.getlist("audience")
    if len(audiences) > 1:
        # RFC 8693 allows several audiences; a token here serves one: invalid_target, as for
        # several resources (RFC 8693 section 2.2.2).
        raise OAuthError(INVALID_TARGET, "Name one destination per token: send audience once.")
    named = set(resources) | set(audiences)
    if len(named) > 1:
        raise OAuthError(INVALID_TARGET, "Name one destination per token (resource or audience).")
    return named.pop() if named else None


def task_id_param(post) -> uuid.UUID | None:
    raw = unique_param(post, "task_id")
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise OAuthError(INVALID_REQUEST, "task_id must be a task's UUID.") from None


def ttl_param(post) -> int | None:
    raw = unique_param(post, "ttl")
    if not raw:
        return None
    # ASCII digits only: int() would also take " 60 ", "+60", "6_0" and other scripts' digits.
    if not (raw.isascii() and raw.isdigit()):
        raise OAuthError(INVALID_REQUEST, "ttl is a number of seconds, in ASCII digits.")
    try:
        ttl = int(raw)
    except ValueError:  # more digits than int() converts
        raise OAuthError(INVALID_REQUEST, "ttl is a number of seconds, in ASCII digits.") from None
    if ttl < 1:
        raise OAuthError(INVALID_REQUEST, "ttl is a positive number of seconds.")
    return ttl


def _bad(description: str) -> OAuthError:
    return OAuthError(INVALID_AUTHORIZATION_DETAILS, description)


def _string_list(entry: dict, field: str) -> list[str]:
    value = entry.get(field, [])
    if not isinstance(value, list) or len(value) > MAX_LIST_ITEMS or not all(isinstance(v, str) and 0 < len(v) <= 255 for v in value):
        raise _bad(f"{field} is a list of up to {MAX_LIST_ITEMS} non-empty strings.")
    return value


def _sensitivity(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.lower() in SENSITIVITY_NAMES:
        return SENSITIVITY_NAMES[value.lower()]
    if isinstance(value, int) and not isinstance(value, bool) and value in Sensitivity.values:
        return value
    raise _bad(f"sensitivity is one of {', '.join(SENSITIVITY_NAMES)}.")


def authorization_details_param(post) -> TaskContext | None:
    """Parse and validate authorization_details: exactly one entry, of type agent_task."""
    raw = unique_param(post, "authorization_details")
    if raw is None:
        return None
    if len(raw) > MAX_DETAILS_CHARS:
        raise _bad("authorization_details is too large.")
    try:
        details = json_input.loads(raw)
    except ValueError as error:  # says where the JSON breaks, or that it holds a NUL or half a character
        raise _bad(f"authorization_details is a JSON array of objects; this is not valid JSON: {error}"[:300]) from None
    if not isinstance(details, list) or not details or not all(isinstance(d, dict) for d in details):
        raise _bad("authorization_details is a JSON array of objects.")
    if len(details) != 1 or details[0].get("type") != AGENT_TASK:
        raise _bad(f"Send exactly one authorization_details entry, of type {AGENT_TASK!r}.")
    entry = details[0]
    unknown = set(entry) - TASK_FIELDS
    if unknown:
        raise _bad(f"Unknown agent_task field(s): {', '.join(sorted(unknown))[:120]}.")
    intent = entry.get("intent")
    if not isinstance(intent, str) or not intent.strip() or len(intent) > 500:
        raise _bad("intent says what the task is for (1 to 500 characters).")
    if "identifier" in entry and (not isinstance(entry["identifier"], str) or len(entry["identifier"]) > 255):
        raise _bad("identifier is a string of up to 255 characters.")
    normalised = {"type": AGENT_TASK, "intent": intent.strip()}
    for field in LIST_FIELDS:
        if field in entry:
            normalised[field] = _string_list(entry, field)
    sensitivity = _sensitivity(entry.get("sensitivity"))
    if sensitivity is not None:
        normalised["sensitivity"] = Sensitivity(sensitivity).label.lower()
    if "identifier" in entry:
        normalised["identifier"] = entry["identifier"]
    return TaskContext(details=[normalised], intent=normalised["intent"], sensitivity=sensitivity)
