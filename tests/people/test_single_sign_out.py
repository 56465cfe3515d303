"""Single sign-out with the identity provider: signing out of the portal ends the provider's
session too (RP-initiated logout), and the provider's logout tokens end the portal's sessions
(back-channel logout). The provider is the live one on loopback; its logout tokens carry real
signatures, checked by the portal against the keys it publishes."""

import base64
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client

from nhiportal.audit.models import AuditEvent
from nhiportal.people.models import PortalSession
from tests.conftest import PASSWORD
from tests.people.test_single_sign_on import sign_in, signed_in_as

pytestmark = pytest.mark.django_db
BACKCHANNEL = "/accounts/sso/backchannel-logout/"
EVENT = "http://schemas.openid.net/event/backchannel-logout"


def through_sso() -> Client:
    client = Client()
    assert sign_in(client).status_code == 302
    return client


def post_logout_token(token, client=None):
    return (client or Client()).post(BACKCHANNEL, {"logout_token": token})


def test_signing_out_after_single_sign_on_ends_the_providers_session_too(oidc_provider):
    browser = through_sso()
    response = browser.post("/accounts/logout/")
    assert response.status_code == 302 and signed_in_as(browser) is None
    to_provider = urlsplit(response["Location"])
    assert f"{to_provider.scheme}://{to_provider.netloc}{to_provider.path}" == f"{oidc_provider.issuer}/end_session"
    # The client names itself; no ID token was kept for an id_token_hint.
    assert parse_qs(to_provider.query) == {"client_id": ["nhi-portal"], "post_logout_redirect_uri": ["http://testserver/accounts/login/"]}
    back = requests.get(response["Location"], allow_redirects=False, timeout=5)
    assert back.headers["Location"] == "http://testserver/accounts/login/" and len(oidc_provider.sign_outs) == 1


def test_without_an_end_session_endpoint_signing_out_stays_in_the_portal(oidc_provider):
    oidc_provider.ends_sessions = False
    browser = through_sso()
    response = browser.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert signed_in_as(browser) is None


def test_a_password_sign_in_signs_out_in_the_portal_only(oidc_provider, alice):
    browser = Client()
    browser.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    response = browser.post("/accounts/logout/")
    assert response["Location"] == "/accounts/login/" and not oidc_provider.sign_outs


def test_signing_out_is_a_post(oidc_provider):
    browser = through_sso()
    assert browser.get("/accounts/logout/").status_code == 405
    assert signed_in_as(browser) == "ada"


def test_the_provider_signs_a_person_out_of_every_portal_session(oidc_provider):
    laptop, phone = through_sso(), through_sso()
    response = post_logout_token(oidc_provider.logout_token())
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert signed_in_as(laptop) is None and signed_in_as(phone) is None
    event = AuditEvent.objects.get(action="person.sessions_ended")
    assert (event.actor_label, event.object_repr) == ("system:sso", "ada")
    assert event.after == {"sessions_ended": 2, "issuer": oidc_provider.issuer, "subject": "00u-ada"}
    assert "back-channel logout" in event.reason


def test_a_logout_token_naming_a_provider_session_ends_the_sessions_signed_in_from_it_only(oidc_provider, alice):
    oidc_provider.issues_sids = True
    laptop, phone = through_sso(), through_sso()
    assert PortalSession.objects.filter(provider_session__in=oidc_provider.sids).count() == 2
    response = post_logout_token(oidc_provider.logout_token(sid=oidc_provider.sids[0]))
    assert response.status_code == 200
    assert signed_in_as(laptop) is None and signed_in_as(phone) == "ada"
    event = AuditEvent.objects.get(action="person.sessions_ended")
    assert event.after == {"sessions_ended": 1, "issuer": oidc_provider.issuer, "subject": "00u-ada", "provider_session": "provider-session-1"}


def test_a_logout_token_naming_only_a_provider_session_ends_that_session(oidc_provider):
    oidc_provider.issues_sids = True
    laptop, phone = through_sso(), through_sso()
    assert post_logout_token(oidc_provider.logout_token(sub=None, sid=oidc_provider.sids[1])).status_code == 200
    assert signed_in_as(laptop) == "ada" and signed_in_as(phone) is None
    assert AuditEvent.objects.get(action="person.sessions_ended").after["provider_session"] == "provider-session-2"
    unknown = post_logout_token(oidc_provider.logout_token(sub=None, sid="a-session-the-portal-never-saw"))
    assert unknown.status_code == 200 and signed_in_as(laptop) == "ada"
    assert AuditEvent.objects.filter(action="person.sessions_ended").count() == 1


def test_a_provider_session_the_portal_never_saw_signs_the_subject_out_everywhere(oidc_provider, alice):
    # ID tokens without a sid (or sessions from before sids were kept): the subject decides.
    laptop, phone = through_sso(), through_sso()
    password = Client()
    password.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert post_logout_token(oidc_provider.logout_token(sid="provider-session-9")).status_code == 200
    assert signed_in_as(laptop) is None and signed_in_as(phone) is None
    assert signed_in_as(password) == "alice"
    assert "provider_session" not in AuditEvent.objects.get(action="person.sessions_ended").after


def test_the_endpoint_is_for_machines_no_csrf_token_no_cookie(oidc_provider):
    through_sso()
    provider = Client(enforce_csrf_checks=True)
    response = post_logout_token(oidc_provider.logout_token(), provider)
    assert response.status_code == 200 and not response.cookies
    assert Client().get(BACKCHANNEL).status_code == 405


def test_a_replayed_logout_token_is_refused(oidc_provider):
    token = oidc_provider.logout_token()
    assert post_logout_token(token).status_code == 200
    laptop = through_sso()
    replay = post_logout_token(token)
    assert replay.status_code == 400 and "replay" in replay.json()["error_description"]
    assert signed_in_as(laptop) == "ada"


def test_someone_the_portal_does_not_know_is_signed_out_of_nothing(oidc_provider):
    laptop = through_sso()
    response = post_logout_token(oidc_provider.logout_token(sub="00u-stranger"))
    assert response.status_code == 200 and signed_in_as(laptop) == "ada"
    assert not AuditEvent.objects.filter(action="person.sessions_ended").exists()


def test_a_key_the_provider_published_since_is_fetched(oidc_provider):
    laptop = through_sso()  # the portal has the provider's keys now
    oidc_provider.key, oidc_provider.kid = ec.generate_private_key(ec.SECP256R1()), "provider-key-2"
    assert post_logout_token(oidc_provider.logout_token()).status_code == 200
    assert signed_in_as(laptop) is None


def test_unknown_key_ids_make_the_portal_fetch_the_providers_keys_at_most_every_half_minute(oidc_provider):
    through_sso()
    oidc_provider.kid = "provider-key-2"
    assert post_logout_token(oidc_provider.logout_token()).status_code == 200
    fetches = oidc_provider.key_fetches
    for n in range(3):
        oidc_provider.kid = f"forged-{n}"
        response = post_logout_token(oidc_provider.logout_token())
        assert response.status_code == 400 and "does not publish" in response.json()["error_description"]
    assert oidc_provider.key_fetches == fetches


def _unsigned(provider) -> str:
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"iss": provider.issuer, "aud": "nhi-portal", "iat": int(time.time()), "jti": "j-1", "sub": "00u-ada", "events": {EVENT: {}}}
    return f"{part({'alg': 'none', 'typ': 'logout+jwt'})}.{part(claims)}."


# How the provider (or someone posing as it) gets it wrong, and what the portal answers.
REFUSED = {
    "signed by another key": (lambda p: p.logout_token(key=ec.generate_private_key(ec.SECP256R1())), "bad_signature"),
    "unsigned": (_unsigned, "'none' is not allowed"),
    "from another issuer": (lambda p: p.logout_token(iss="https://evil.example"), "'iss'"),
    "for another client": (lambda p: p.logout_token(aud="someone-else"), "'aud'"),
    "without iat": (lambda p: p.logout_token(iat=None), "Missing claim: 'iat'"),
    "issued an hour ago": (lambda p: p.logout_token(iat=int(time.time()) - 3600, exp=None), "Invalid claim: 'iat'"),
    "expired": (lambda p: p.logout_token(exp=int(time.time()) - 600), "expired"),
    "without jti": (lambda p: p.logout_token(jti=None), "'jti'"),
    "without events": (lambda p: p.logout_token(events=None), "'events'"),
    "for another event": (lambda p: p.logout_token(events={"http://schemas.openid.net/event/other": {}}), "'events'"),
    "an ID token": (lambda p: p.logout_token(nonce="n-0S6_WzA2Mj"), "no nonce"),
    "naming nobody": (lambda p: p.logout_token(sub=None, sid=None), "neither a subject (sub) nor a session (sid)"),
    "with a subject that is not a string": (lambda p: p.logout_token(sub=42), "'sub'"),
    "with a session that is not a string": (lambda p: p.logout_token(sid=["provider-session-1"]), "sid must be a string"),
    "not a token": (lambda p: "not.a.token", "does not verify"),
    "missing": (lambda p: "", "logout_token form field"),
}


@pytest.mark.parametrize("kind", REFUSED)
def test_a_bad_logout_token_is_refused_and_ends_nothing(oidc_provider, kind):
    make, said = REFUSED[kind]
    laptop = through_sso()
    response = post_logout_token(make(oidc_provider))
    assert response.status_code == 400 and response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == "invalid_request" and said in body["error_description"]
    assert signed_in_as(laptop) == "ada" and PortalSession.objects.filter(user__username="ada").exists()
    assert not AuditEvent.objects.filter(action="person.sessions_ended").exists()


def test_without_single_sign_on_there_is_no_back_channel(settings):
    settings.SSO = {**settings.SSO, "ISSUER": "", "CLIENT_ID": ""}
    assert Client().post(BACKCHANNEL, {"logout_token": "x"}).status_code == 404
