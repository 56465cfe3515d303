"""Security admins' emergency tools: a signing key reported compromised, and revoking live tokens at once."""

import re

import jwt
import pytest

from nhiportal.audit.models import AuditEvent
from tokens.keys import active_signer, signing_keys_rotate
from tokens.models import IssuedToken, KeyState, Service, SigningKey
from tokens.services import service_create

from .conftest import token_request

REASON = "Key file found in a public bucket"


def _messages(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def _field_errors(response, name: str) -> str:
    """The errors shown next to one field (templates/partials/field.html)."""
    found = re.search(rf'<div class="error" id="id_{name}_error">(.*?)</div>', response.content.decode(), re.S)
    return found.group(1) if found else ""


def _kids(oauth) -> set[str]:
    return {k["kid"] for k in oauth.get("/oauth/jwks.json").json()["keys"]}


def _kid_of(body) -> str:
    return jwt.get_unverified_header(body["access_token"])["kid"]


def test_a_compromised_signing_key_leaves_the_jwks_and_its_tokens_are_revoked(client_for, sam, agent, get_token, oauth):
    signing_keys_rotate(actor=sam)  # an active key, and a next key verifiers already hold
    held = get_token(agent)
    compromised = _kid_of(held)
    prepared_next = SigningKey.objects.get(state=KeyState.NEXT).kid

    response = client_for(sam).post(f"/keys/{compromised}/compromised/", {"reason": REASON, "confirm": compromised})

    assert response.status_code == 302
    published = _kids(oauth)
    assert compromised not in published and prepared_next in published
    token = IssuedToken.objects.get()
    assert token.revoked_at is not None and token.revoke_reason == f"Signing key compromised: {REASON}"
    assert _kid_of(get_token(agent)) == prepared_next  # the next key took over
    assert SigningKey.objects.filter(state=KeyState.NEXT).exclude(kid=prepared_next).count() == 1
    event = AuditEvent.objects.get(action="signing_key.compromised")
    assert event.actor == sam and event.reason == REASON and event.after["tokens_revoked"] == 1
    assert event.after["active"] == prepared_next


def test_the_confirmation_counts_what_goes_and_the_keys_page_keeps_the_report(client_for, sam, agent, make_agent, get_token):
    signing_keys_rotate(actor=sam)
    other = make_agent(name="other-agent")
    compromised = _kid_of(get_token(agent))
    get_token(agent), get_token(other)
    client = client_for(sam)
    page = client.get(f"/keys/{compromised}/compromised/").content.decode()
    assert "<strong>3 live tokens</strong> it signed or exchanged from those, held by 2 identities, are revoked" in page

    client.post(f"/keys/{compromised}/compromised/", {"reason": REASON, "confirm": compromised})
    key = SigningKey.objects.get(kid=compromised)
    assert key.state == KeyState.RETIRED and key.compromised_by_label == "sam" and key.compromise_reason == REASON
    assert key.compromise_tokens_revoked == 3
    keys_page = client.get("/keys/").content.decode()
    assert "compromised</span>" in keys_page and f"by sam: {REASON}; 3 live tokens it signed revoked" in keys_page
    # A key that retired in turn is told apart from it.
    assert SigningKey.objects.filter(compromised_at__isnull=True).exists()
    assert keys_page.count("compromised</span>") == 1
    listed = {k["kid"]: k for k in client.get("/api/v1/signing-keys/").json()["results"]}
    assert listed[compromised]["compromise_reason"] == REASON and listed[compromised]["compromise_tokens_revoked"] == 3
    assert listed[compromised]["compromised_by_label"] == "sam" and listed[compromised]["compromised_at"]


def test_a_key_that_signed_nothing_live_says_nothing_is_revoked(client_for, sam):
    signing_keys_rotate(actor=sam)
    kid = SigningKey.objects.get(state=KeyState.NEXT).kid
    assert "It signed no live token now: nothing is revoked." in client_for(sam).get(f"/keys/{kid}/compromised/").content.decode()


def test_a_compromised_key_with_no_next_key_is_replaced_by_a_new_one(client_for, sam, agent, get_token, oauth):
    compromised = _kid_of(get_token(agent))  # the first token made the only key
    client_for(sam).post(f"/keys/{compromised}/compromised/", {"reason": REASON, "confirm": compromised})
    fresh = _kid_of(get_token(agent))
    assert fresh != compromised and fresh in _kids(oauth) and compromised not in _kids(oauth)


def test_a_compromised_retiring_key_does_not_touch_the_signing_key(sam, agent, get_token, client_for, oauth):
    old = _kid_of(get_token(agent))
    signing_keys_rotate(actor=sam)
    signing = active_signer().kid

    response = client_for(sam).post(f"/keys/{old}/compromised/", {"reason": REASON, "confirm": old})

    assert response.status_code == 302
    assert active_signer().kid == signing and old not in _kids(oauth)
    assert IssuedToken.objects.get().revoked_at is not None


def test_reporting_a_key_asks_for_its_kid_and_a_reason(client_for, sam, db):
    kid = active_signer().kid
    client = client_for(sam)
    assert client.get(f"/keys/{kid}/compromised/").status_code == 200
    wrong = client.post(f"/keys/{kid}/compromised/", {"reason": REASON, "confirm": "not-it"})
    assert wrong.status_code == 400 and b"not the key&#x27;s kid" in wrong.content
    blank = client.post(f"/keys/{kid}/compromised/", {"reason": " ", "confirm": kid})
    assert blank.status_code == 400
    assert SigningKey.objects.get(kid=kid).state == KeyState.ACTIVE
    assert not AuditEvent.objects.filter(action="signing_key.compromised").exists()


def test_a_retired_key_cannot_be_reported_again(client_for, sam, db):
    kid = active_signer().kid
    SigningKey.objects.filter(kid=kid).update(state=KeyState.RETIRED)
    assert client_for(sam).get(f"/keys/{kid}/compromised/").status_code == 404


@pytest.mark.parametrize("person", ["alice", "rita", "carol", "charlie"])
def test_only_security_admins_use_the_emergency_tools(request, client_for, person, agent, get_token):
    get_token(agent)
    kid = active_signer().kid
    client = client_for(request.getfixturevalue(person))
    assert client.get(f"/keys/{kid}/compromised/").status_code == 403
    assert client.post(f"/keys/{kid}/compromised/", {"reason": REASON, "confirm": kid}).status_code == 403
    assert client.get("/emergency-revoke/").status_code == 403
    assert client.post("/emergency-revoke/", {"service": "all", "reason": REASON, "confirm": "REVOKE ALL"}).status_code == 403
    api = client.post("/api/v1/emergency-revoke/", {"reason": REASON, "all": True}, content_type="application/json")
    assert api.status_code == 403 and "tokens_revoked" not in api.json()
    assert client.post(f"/api/v1/signing-keys/{kid}/compromised/", {"reason": REASON}, content_type="application/json").status_code == 403
    assert IssuedToken.objects.get().revoked_at is None and SigningKey.objects.get(kid=kid).state == KeyState.ACTIVE


def test_an_emergency_revoke_ends_every_live_token_of_one_service_or_all(client_for, sam, make_agent, get_token, grant, oauth):
    billing = service_create(actor=sam, name="Billing", audience="https://billing.example.com", owner=sam, scopes=["invoices:read"])
    crm_agent, billing_agent = make_agent(), make_agent()
    get_token(crm_agent)
    grant(billing_agent, billing, ["invoices:read"])
    assert token_request(oauth, billing_agent, resource="https://billing.example.com", scope="invoices:read").status_code == 200
    client = client_for(sam)
    page = client.get("/emergency-revoke/")
    assert page.context["live"] == [("Billing", 1), ("CRM", 1)] and page.context["live_total"] == 2
    assert "Billing: 1 · CRM: 1" in page.content.decode()

    only_billing = client.post("/emergency-revoke/", {"service": billing.pk, "reason": REASON, "confirm": "REVOKE"})

    assert only_billing.status_code == 302
    assert list(IssuedToken.objects.filter(revoked_at__isnull=False).values_list("audience", flat=True)) == [billing.audience]
    assert _messages(only_billing) == ["Revoked 1 live token for Billing, held by 1 identity."]
    every = client.post("/emergency-revoke/", {"service": "all", "reason": REASON, "confirm": "REVOKE ALL"})
    assert every.status_code == 302 and _messages(every)[-1] == "Revoked 1 live token for every service, held by 1 identity."
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()
    assert "No live token: there is nothing to revoke." in client.get("/emergency-revoke/").content.decode()
    assert IssuedToken.objects.filter(revoke_reason=f"Emergency: {REASON}").count() == 2
    events = AuditEvent.objects.filter(action="tokens.emergency_revoke").order_by("id")
    assert [(e.after["service"], e.after["tokens_revoked"]) for e in events] == [(billing.audience, 1), (None, 1)]
    assert [e.after["identities"] for e in events] == [1, 1]


def test_an_emergency_revoke_needs_the_word_and_a_reason(client_for, sam, agent, get_token):
    get_token(agent)
    crm = Service.objects.get()
    client = client_for(sam)
    assert client.get("/emergency-revoke/").status_code == 200
    lower = client.post("/emergency-revoke/", {"service": crm.pk, "reason": REASON, "confirm": "revoke"})
    assert lower.status_code == 400 and "Type REVOKE, in capitals, to revoke this service" in _field_errors(lower, "confirm")
    assert client.post("/emergency-revoke/", {"service": crm.pk, "reason": "", "confirm": "REVOKE"}).status_code == 400
    assert IssuedToken.objects.get().revoked_at is None and not AuditEvent.objects.filter(action="tokens.emergency_revoke").exists()


def test_the_page_preselects_no_service_and_refuses_a_revoke_that_names_none(client_for, sam, agent, get_token):
    get_token(agent)
    client = client_for(sam)
    select = re.search(r'<select name="service".*?</select>', client.get("/emergency-revoke/").content.decode(), re.S).group(0)
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select)
    # "Choose…" first and chosen: a forgotten pick is no choice, not every service.
    assert options[:2] == [("", " selected", "Choose…"), ("all", "", "Every service")]

    forgot = client.post("/emergency-revoke/", {"service": "", "reason": REASON, "confirm": "REVOKE"})

    assert forgot.status_code == 400
    assert "Choose the service whose tokens to revoke, or Every service." in _field_errors(forgot, "service")
    assert IssuedToken.objects.get().revoked_at is None and not AuditEvent.objects.filter(action="tokens.emergency_revoke").exists()


def test_every_service_takes_revoke_all_typed_and_one_service_revoke(client_for, sam, agent, get_token):
    get_token(agent)
    client = client_for(sam)

    weak = client.post("/emergency-revoke/", {"service": "all", "reason": REASON, "confirm": "REVOKE"})

    assert weak.status_code == 400 and "Type REVOKE ALL, in capitals, to revoke every service" in _field_errors(weak, "confirm")
    assert IssuedToken.objects.get().revoked_at is None
    assert client.post("/emergency-revoke/", {"service": "all", "reason": REASON, "confirm": "REVOKE ALL"}).status_code == 302
    assert IssuedToken.objects.get().revoked_at is not None


def test_an_unknown_service_is_refused_next_to_the_field(client_for, sam, agent, get_token):
    get_token(agent)
    refused = client_for(sam).post("/emergency-revoke/", {"service": "999999", "reason": REASON, "confirm": "REVOKE"})
    assert refused.status_code == 400 and _field_errors(refused, "service")
    assert IssuedToken.objects.get().revoked_at is None


def test_the_api_revokes_nothing_unless_told_a_service_or_all(client_for, sam, agent, get_token):
    get_token(agent)
    crm = Service.objects.get()
    client = client_for(sam)

    unsaid = client.post("/api/v1/emergency-revoke/", {"reason": REASON}, content_type="application/json")
    both = client.post("/api/v1/emergency-revoke/", {"reason": REASON, "service": crm.pk, "all": True}, content_type="application/json")
    not_all = client.post("/api/v1/emergency-revoke/", {"reason": REASON, "all": False}, content_type="application/json")

    assert unsaid.status_code == 400 and "all: true" in unsaid.json()["service"][0]
    assert both.status_code == 400 and "not both" in both.json()["all"][0]
    assert not_all.status_code == 400 and "service" in not_all.json()
    assert IssuedToken.objects.get().revoked_at is None and not AuditEvent.objects.filter(action="tokens.emergency_revoke").exists()
    one = client.post("/api/v1/emergency-revoke/", {"reason": REASON, "service": crm.pk}, content_type="application/json")
    assert one.json() == {"tokens_revoked": 1}
    assert AuditEvent.objects.get(action="tokens.emergency_revoke").after["service"] == crm.audience


def test_the_api_offers_both(client_for, sam, agent, get_token):
    kid = _kid_of(get_token(agent))
    client = client_for(sam)
    assert client.post("/api/v1/emergency-revoke/", {}, content_type="application/json").status_code == 400
    every = client.post("/api/v1/emergency-revoke/", {"reason": REASON, "all": True}, content_type="application/json")
    assert every.json() == {"tokens_revoked": 1}
    get_token(agent)
    reported = client.post(f"/api/v1/signing-keys/{kid}/compromised/", {"reason": REASON}, content_type="application/json")
    assert reported.json() == {"tokens_revoked": 1}
    assert client.post(f"/api/v1/signing-keys/{kid}/compromised/", {"reason": REASON}, content_type="application/json").status_code == 404


def test_any_of_several_retiring_keys_can_be_reported(sam, db):
    first = active_signer().kid
    signing_keys_rotate(actor=sam)
    signing_keys_rotate(actor=sam)
    assert SigningKey.objects.filter(state=KeyState.RETIRING).count() == 2

    from tokens.keys import signing_key_compromised

    signing_key_compromised(actor=sam, key=SigningKey.objects.get(kid=first), reason=REASON)

    assert SigningKey.objects.get(kid=first).state == KeyState.RETIRED
    assert SigningKey.objects.filter(state=KeyState.RETIRING).count() == 1


def test_a_process_still_holding_a_retired_key_signs_with_the_active_one(agent, get_token, sam):
    stale = _kid_of(get_token(agent))  # this process now holds that key for a few seconds
    # Another process reports it compromised: its commit is all this one sees.
    from tokens.keys import _new_key
    from django.utils import timezone

    SigningKey.objects.filter(kid=stale).update(state=KeyState.RETIRED, retired_at=timezone.now())
    fresh = _new_key("ES256", KeyState.ACTIVE, timezone.now())

    body = get_token(agent)

    assert _kid_of(body) == fresh.kid
    assert IssuedToken.objects.get(jti=jwt.decode(body["access_token"], options={"verify_signature": False})["jti"]).signing_kid == fresh.kid
