"""Workload identity federation: the OpenID Connect issuers whose tokens agents may present.

A pipeline in GitHub Actions, a pod in Kubernetes or a function in a cloud already holds a
short-lived token its platform signed. Registering that platform as a federated issuer lets
such an agent present the token as its client assertion, so it needs no key of its own to
keep, rotate or leak (Entra's federated credentials, Vault's JWT auth). The identity's
federated credential says which issuer and subject (and other claims) stand for it
(tokens/credentials.py); client authentication checks them (tokens/oauth/client_auth.py).

The issuer's keys come from its OpenID discovery document (jwks_uri), and the sweep fetches
them again like a trust domain's bundle (tokens/trust_bundles.py); a cluster whose issuer is
not reachable from the portal has its JWKS pasted.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from nhiportal.audit.services import audit_record
from nhiportal.outbound import validate_url

from .models import FederatedIssuer
from .remote_json import FetchFailed, fetch_json, fetchable
from .trust_bundles import keys_change, keys_from, kids_of

MIN_AGE, MAX_AGE = 60, 3600
GITHUB_ACTIONS = "https://token.actions.githubusercontent.com"
KUBERNETES_SUBJECT = "system:serviceaccount:"


# A federated subject may end in "*": it then stands for every subject that starts with the
# rest, as a release pipeline needs (GitHub builds the sub from the tag it runs for). The *
# comes right after a ":" or "/", with at least two parts fixed before it: repo:acme* would
# match repo:acme-evil, and repo:* every repository on GitHub.
WILDCARD = "*"
_DELIMITERS = (":", "/")
_FIXED_PARTS = 2


def subject_prefix(subject: str) -> str | None:
    """What a subject ending in * stands for the start of; None for an exact subject."""
    return subject[:-1] if subject.endswith(WILDCARD) else None


def subject_matches(credential_subject: str, token_subject: str) -> bool:
    prefix = subject_prefix(credential_subject)
    return token_subject == credential_subject if prefix is None else token_subject.startswith(prefix)


def subject_check(subject: str) -> None:
    """Refuse a subject pattern that is malformed or wider than one workload's family of jobs."""
    if WILDCARD not in subject:
        return
    prefix = subject_prefix(subject)
    if prefix is None or WILDCARD in prefix:
        raise ValidationError({"subject": "A * stands for the rest of the subject: put one, last, as in repo:acme/agents:ref:refs/tags/*."})
    if not prefix.endswith(_DELIMITERS):
        raise ValidationError({"subject": "Put the * right after a ':' or '/': repo:acme* would match repo:acme-evil too."})
    if sum(prefix.count(d) for d in _DELIMITERS) < _FIXED_PARTS:
        raise ValidationError({"subject": "Fix at least two parts before the *, as in repo:acme/agents:* or system:serviceaccount:agents:*: repo:* would match every repository on the platform."})


def subjects_overlap(a: str, b: str) -> bool:
    """Whether one token's sub could match both subjects (each exact, or ending in *)."""
    pa, pb = subject_prefix(a), subject_prefix(b)
    if pa is None and pb is None:
        return a == b
    if pa is None:
        return a.startswith(pb)
    if pb is None:
        return b.startswith(pa)
    return pa.startswith(pb) or pb.startswith(pa)


def platform_of(credential) -> str:
    """Where a federated credential's workload runs, for the setup the connect panel shows:
    "github", "kubernetes", or "" when the portal cannot tell."""
    if credential.federated_issuer.issuer == GITHUB_ACTIONS:
        return "github"
    return "kubernetes" if credential.subject.startswith(KUBERNETES_SUBJECT) else ""


def discover_jwks_uri(issuer: str) -> str:
    """The jwks_uri of the issuer's OpenID discovery document (OpenID Connect Discovery 1.0,
    section 4: the document must name the same issuer)."""
    document = fetch_json(f"{issuer.rstrip('/')}/.well-known/openid-configuration", "The issuer's discovery document")
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        raise FetchFailed("The issuer's discovery document names another issuer.")
    uri = document.get("jwks_uri")
    if not isinstance(uri, str) or not fetchable(uri):
        raise FetchFailed("The issuer's discovery document has no https:// jwks_uri.")
    return uri


def _issuer(value: str) -> str:
    value = (value or "").strip()
    validate_url(value, "issuer")
    if not fetchable(value):
        raise ValidationError({"issuer": "Give the issuer as its tokens carry it in iss: an https:// URL."})
    return value


def _jwks_uri(value: str) -> str:
    value = (value or "").strip()
    validate_url(value, "bundle_endpoint")
    if value and not fetchable(value):
        raise ValidationError({"bundle_endpoint": "Give the JWKS URI as an https:// URL (http:// only on this machine)."})
    return value


def _audience(value: str, issuer: str) -> str:
    """The aud the issuer's tokens must carry here; empty: the portal's token endpoint or issuer.

    Another name (api://nhi-portal, say) is taken as well: RFC 7523 lets an authorization
    server be known by such a name, and a workload asks its platform for a token naming it
    (GitHub's getIDToken(audience), a projected token's audience). It is safe while the
    platform issues tokens under that name for the portal alone, which the admin vouches for
    as for the issuer's keys. The issuer's own URL never is: a Kubernetes pod's default
    service account token names it, and pods hand that token to whatever they call.
    """
    value = (value or "").strip()
    if value and value.rstrip("/") == issuer.rstrip("/"):
        raise ValidationError({"audience": (
            "This is the issuer itself, which the platform's own tokens name (a pod's default token, say): "
            "any workload could present those here. Give a name only the portal takes, such as api://nhi-portal, "
            "or leave it empty for this portal's token endpoint or issuer."
        )})
    return value


def _max_age(value) -> int:
    if not isinstance(value, int) or not MIN_AGE <= value <= MAX_AGE:
        raise ValidationError({"max_age": f"Between {MIN_AGE} and {MAX_AGE} seconds."})
    return value


def _keys(issuer: str, jwks, jwks_uri: str) -> tuple[dict, str, bool]:
    """The keys to keep, where they are fetched again, and whether they were fetched now.
    Nothing pasted and no JWKS URI: the discovery document says where the keys are."""
    pasted = jwks not in (None, "", {})
    if not pasted and not jwks_uri:
        try:
            jwks_uri = discover_jwks_uri(issuer)
        except FetchFailed as error:
            raise ValidationError({"issuer": f"{error} Paste the issuer's JWKS instead, or give its JWKS URI."}) from None
    keys, endpoint, _ = keys_from(jwks, jwks_uri, FederatedIssuer.KEYS_FROM)
    return keys, endpoint, not pasted


def _snapshot(issuer: FederatedIssuer) -> dict:
    return {
        "name": issuer.name, "issuer": issuer.issuer, "audience": issuer.audience,
        "bundle_endpoint": issuer.bundle_endpoint, "max_age": issuer.max_age, "reusable": issuer.reusable,
    }


@transaction.atomic
def federated_issuer_create(
    *, actor, name: str, issuer: str, audience: str = "", jwks=None, bundle_endpoint: str = "",
    max_age: int = 300, reusable: bool = False,
) -> FederatedIssuer:
    """Trust an OIDC issuer's workload tokens, for the identities whose credentials name it."""
    issuer = _issuer(issuer)
    audience = _audience(audience, issuer)
    if FederatedIssuer.objects.filter(issuer=issuer).exists():
        raise ValidationError({"issuer": "This issuer is already registered."})
    keys, endpoint, fetched = _keys(issuer, jwks, _jwks_uri(bundle_endpoint))
    now = timezone.now()
    held = FederatedIssuer(
        name=(name or "").strip(), issuer=issuer, audience=audience, jwks=keys, bundle_endpoint=endpoint,
        bundle_fetched_at=now if fetched else None, max_age=_max_age(max_age), reusable=bool(reusable),
        created_by=actor if getattr(actor, "pk", None) else None, created_at=now, updated_at=now,
    )
    held.full_clean()
    held.save()
    audit_record(actor=actor, action="federated_issuer.create", obj=held, after={**_snapshot(held), "kids": kids_of(held.jwks)})
    return held


@transaction.atomic
def federated_issuer_update(
    *, actor, federated_issuer: FederatedIssuer, name: str, audience: str, jwks=None, bundle_endpoint: str = "",
    max_age: int, reusable: bool,
) -> FederatedIssuer:
    """Change what is checked of the issuer's tokens, or its keys: pasted keys replace the
    ones held; a new JWKS URI (or none, for discovery) is fetched now; the same JWKS URI keeps
    the keys held, which the sweep fetches again anyway, so an outage there blocks no edit."""
    held = FederatedIssuer.objects.select_for_update().get(pk=federated_issuer.pk)
    before, keys_held = _snapshot(held), held.jwks
    audience = _audience(audience, held.issuer)
    jwks_uri, fetched = _jwks_uri(bundle_endpoint), False
    if jwks not in (None, "", {}) or not jwks_uri or jwks_uri != held.bundle_endpoint:
        held.jwks, held.bundle_endpoint, fetched = _keys(held.issuer, jwks, jwks_uri)
    if fetched:
        held.bundle_fetched_at, held.bundle_error, held.refresh_hint = timezone.now(), "", None
    held.name, held.audience = (name or "").strip(), audience
    held.max_age, held.reusable = _max_age(max_age), bool(reusable)
    # The keys by what they are, not only their kids: other keys under the same kids (a
    # rotation that kept its names) are a change to save and record.
    keys_before, keys_after = keys_change(keys_held, held.jwks)
    before, after = {**before, **keys_before}, {**_snapshot(held), **keys_after}
    changed = [k for k in after if after[k] != before[k]]
    if not changed:
        if fetched:  # the same keys, fetched again: only when is kept
            held.save(update_fields=["bundle_fetched_at", "bundle_error", "refresh_hint"])
        return held
    held.updated_at = timezone.now()
    held.full_clean()
    held.save()
    audit_record(actor=actor, action="federated_issuer.update", obj=held,
                 before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    return held
