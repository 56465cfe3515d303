"""Exposure response: a leaked token or key is contained when reported, and the report says
where it was and for how long; the leaked secret is never kept."""

from datetime import timedelta, timezone as dt_timezone

import pytest
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from tokens.credentials import credential_add_jwk
from tokens.models import Exposure, IssuedToken, WorkloadCredential

from .conftest import new_private_key, public_jwk
from .test_token_exchange import exchange, unverified

REPORT = "/exposures/report/"


def test_anyone_signed_in_revokes_a_leaked_token_and_learns_nothing_else(client_for, charlie, agent, get_token):
    token = get_token(agent)["access_token"]
    seen = timezone.now() - timedelta(hours=3)
    response = client_for(charlie).post(REPORT, {"token": token, "where_found": "build log #812", "seen_at": seen.strftime("%Y-%m-%dT%H:%M")}, follow=True)
    assert response.status_code == 200 and b"Revoked: 1 token no longer works." in response.content
    assert agent.identity.name.encode() not in response.content and token.encode() not in response.content
    assert IssuedToken.objects.get().revoked_at is not None
    exposure = Exposure.objects.get()
    assert exposure.token_jti == unverified(token)["jti"] and exposure.was_live and exposure.reported_by == charlie
    assert timedelta(hours=2, minutes=58) < exposure.dwell < timedelta(hours=3, minutes=2)
    event = AuditEvent.objects.get(action="exposure.report")
    assert token not in str(event.after) and event.after["where_found"] == "build log #812"


def test_what_was_exchanged_from_a_leaked_token_dies_with_it(client_for, oauth, alice, agent, get_token):
    token = get_token(agent, scope="tickets:read tickets:write", ttl="600")["access_token"]
    child = exchange(oauth, agent, token, scope="tickets:read").json()["access_token"]
    client_for(alice).post(REPORT, {"token": token, "where_found": "notebook"})
    assert IssuedToken.objects.get(jti=unverified(child)["jti"]).revoked_at is not None
    assert Exposure.objects.get().tokens_revoked == 2


@pytest.mark.parametrize(
    "data, error",
    [
        ({"token": "eyJhbGciOiJub25lIn0.e30.", "where_found": "log"}, b"not an access token the portal issued"),
        ({"token": "", "where_found": "log"}, b"This field is required"),
        ({"token": "x", "where_found": " "}, b"This field is required"),
        ({"token": "x", "where_found": "log", "seen_at": "2999-01-01T00:00"}, b"future"),
    ],
)
def test_a_bad_report_is_a_form_error_and_the_paste_is_not_echoed(client_for, alice, agent, get_token, data, error):
    get_token(agent)
    response = client_for(alice).post(REPORT, data)
    assert response.status_code == 400 and error in response.content
    if data["token"] and data["token"] != "x":
        assert data["token"].encode() not in response.content
    assert not Exposure.objects.exists() and IssuedToken.objects.get().revoked_at is None


def test_a_paste_cleared_after_another_fields_error_says_so_next_to_it(client_for, alice, agent, get_token):
    token = get_token(agent)["access_token"]
    response = client_for(alice).post(REPORT, {"token": token, "where_found": ""})
    html = response.content.decode()
    assert response.status_code == 400 and token not in html
    assert "Cleared on purpose, so the page does not show the secret again: paste it once more." in html


def test_a_secret_put_where_the_place_goes_is_refused_kept_nowhere_and_not_echoed(client_for, alice, agent, get_token):
    token = get_token(agent)["access_token"]
    client = client_for(alice)
    short_jwt = "pastebin: eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJl"
    for where in (short_jwt, "nhip_" + "a" * 30, '{"kty": "EC", "d": "secret-part"}'):
        response = client.post(REPORT, {"token": token, "where_found": where})
        assert response.status_code == 400 and b"not the secret itself" in response.content
        assert where.encode() not in response.content
        api = client.post("/api/v1/exposures/", {"token": token, "where_found": where}, content_type="application/json")
        assert api.status_code == 400 and "where_found" in api.json()
    too_long = client.post(REPORT, {"token": token, "where_found": f"pastebin: {token}"})  # refused for its length first
    assert too_long.status_code == 400 and token.encode() not in too_long.content
    assert not Exposure.objects.exists() and IssuedToken.objects.get().revoked_at is None
    credential = agent.identity.credentials.get()
    page = client.post(f"/identities/{agent.identity.pk}/credentials/{credential.pk}/exposed/", {"where_found": f"log {token}"})
    assert page.status_code == 400 and token.encode() not in page.content


def test_an_expired_token_is_recorded_as_no_longer_working(client_for, alice, agent, get_token):
    token = get_token(agent)["access_token"]
    IssuedToken.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client_for(alice).post(REPORT, {"token": token, "where_found": "old ticket"}, follow=True)
    assert b"no longer worked" in response.content
    assert not Exposure.objects.get().was_live


def test_owners_report_a_leaked_key_which_disables_it(client_for, alice, agent, get_token):
    get_token(agent)
    credential = WorkloadCredential.objects.get(kid=agent.kid)
    url = f"/identities/{agent.identity.pk}/credentials/{credential.pk}/exposed/"
    assert client_for(alice).post(url, {"where_found": ""}).status_code == 400
    response = client_for(alice).post(url, {"where_found": "public gist"})
    assert response.status_code == 302
    credential.refresh_from_db()
    assert not credential.enabled and IssuedToken.objects.get().revoked_at is not None
    exposure = Exposure.objects.get()
    assert exposure.kind == "credential" and exposure.credential == credential and exposure.tokens_revoked == 1


def test_only_owners_and_admins_report_an_identitys_key(client_for, rita, charlie, agent):
    credential = WorkloadCredential.objects.get(kid=agent.kid)
    url = f"/identities/{agent.identity.pk}/credentials/{credential.pk}/exposed/"
    assert client_for(charlie).post(url, {"where_found": "x"}).status_code == 404
    assert client_for(rita).post(url, {"where_found": "x"}).status_code == 403
    assert WorkloadCredential.objects.get(pk=credential.pk).enabled and not Exposure.objects.exists()


def test_the_exposures_page_shows_what_the_gate_allows(client_for, alice, bob, charlie, carol, agent, get_token):
    client_for(alice).post(REPORT, {"token": get_token(agent)["access_token"], "where_found": "build log"})
    for person, sees in ((alice, True), (carol, True), (bob, False), (charlie, False)):
        page = client_for(person).get("/exposures/")
        assert page.status_code == 200 and (b"build log" in page.content) is sees, person


def test_the_api_reports_and_lists(client_for, alice, charlie, agent, get_token):
    token = get_token(agent)["access_token"]
    bad = client_for(charlie).post("/api/v1/exposures/", {"token": "nope", "where_found": "x"}, content_type="application/json")
    assert bad.status_code == 400 and "token" in bad.json()
    created = client_for(charlie).post("/api/v1/exposures/", {"token": token, "where_found": "pastebin"}, content_type="application/json")
    assert created.status_code == 201 and created.json() == {"tokens_revoked": 1, "was_live": True, "personal_api_token": False, "kind": "token"}
    assert client_for(charlie).get("/api/v1/exposures/").json()["results"] == []
    listed = client_for(alice).get("/api/v1/exposures/").json()["results"]
    assert listed[0]["where_found"] == "pastebin" and listed[0]["identity"] == str(agent.identity.pk)


# A person's API token found where it should not be


def test_anyone_signed_in_revokes_a_leaked_personal_api_token(client_for, charlie, alice):
    from nhiportal.people.models import PersonalAPIToken
    from nhiportal.people.services import api_token_create

    token, raw = api_token_create(user=alice, name="ci pipeline", days=30)
    response = client_for(charlie).post("/exposures/report/", {"token": raw, "where_found": "build log of job 4411"}, follow=True)
    html = response.content.decode()
    assert "that personal API token no longer works" in html and raw not in html and "alice" not in html
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoke_reason == "Exposed: build log of job 4411"
    assert client_for(alice).get("/accounts/tokens/").content.decode().count("Exposed: build log of job 4411") == 1
    event = AuditEvent.objects.get(action="api_token.exposed")
    assert event.actor_label == "charlie" and event.after["was_live"] is True and raw not in str(event.after)
    assert not Exposure.objects.exists()
    # The token no longer opens the API.
    from django.test import Client
    assert Client().get("/api/v1/identities/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert PersonalAPIToken.objects.get(pk=token.pk).revoked_at is not None


def test_a_personal_token_the_portal_never_issued_is_a_form_error(client_for, charlie):
    response = client_for(charlie).post("/exposures/report/", {"token": "nhip_" + "x" * 40, "where_found": "a gist"})
    assert response.status_code == 400 and "not a token the portal issued" in response.content.decode()
    assert not AuditEvent.objects.filter(action="api_token.exposed").exists()


def test_the_api_reports_a_personal_token_and_says_so(client_for, charlie, alice):
    from nhiportal.people.services import api_token_create

    _, raw = api_token_create(user=alice, name="notebook", days=30)
    body = client_for(charlie).post("/api/v1/exposures/", {"token": raw, "where_found": "a shared notebook"}, content_type="application/json").json()
    assert body == {"tokens_revoked": 1, "was_live": True, "personal_api_token": True, "kind": "personal_api_token"}
    again = client_for(charlie).post("/api/v1/exposures/", {"token": raw, "where_found": "the notebook again"}, content_type="application/json")
    assert again.status_code == 201 and again.json()["was_live"] is False
    assert AuditEvent.objects.filter(action="api_token.exposed").count() == 2


def test_security_admins_see_every_leaked_personal_token_and_people_their_own(client_for, charlie, alice, bob, sam):
    from nhiportal.people.services import api_token_create

    _, raw = api_token_create(user=alice, name="laptop script", days=30)
    client_for(charlie).post(REPORT, {"token": raw, "where_found": "a public gist"})
    admin_page = client_for(sam).get("/exposures/").content.decode()
    assert 'aria-label="Personal API tokens reported leaked"' in admin_page
    assert "laptop script" in admin_page and "a public gist" in admin_page and "alice" in admin_page and raw not in admin_page
    own = client_for(alice).get("/exposures/").content.decode()
    assert "laptop script" in own and ">you<" in own
    for outsider in (bob, charlie):  # the reporter too: where it was found is the holder's business
        assert "laptop script" not in client_for(outsider).get("/exposures/").content.decode()
    assert "laptop script" not in client_for(sam).get("/exposures/?state=open").content.decode()


def test_a_time_seen_with_any_offset_is_kept_in_utc(client_for, alice, agent, get_token):
    # ISO 8601 takes offsets PostgreSQL refuses (past 15:59): the instant is what counts.
    token = get_token(agent)["access_token"]
    seen = (timezone.now() - timedelta(days=2)).replace(microsecond=0)
    far_west = seen.astimezone(dt_timezone(-timedelta(hours=21, minutes=14)))
    response = client_for(alice).post(REPORT, {"token": token, "where_found": "a wiki page", "seen_at": far_west.isoformat()})
    assert response.status_code == 302
    assert Exposure.objects.get().seen_at == seen


# Tokens pasted as logs and configs show them


@pytest.mark.parametrize("pasted", [
    "Authorization: Bearer {token}",
    "authorization:bearer  {token}",
    "DPoP {token}",
    '"{token}"',
    "  'Authorization: Bearer {token}'\n",
    'Authorization: "Bearer {token}"',
])
def test_a_token_pasted_with_its_header_scheme_or_quotes_is_revoked(client_for, charlie, agent, get_token, pasted):
    token = get_token(agent)["access_token"]
    response = client_for(charlie).post(REPORT, {"token": pasted.format(token=token), "where_found": "nginx access log"}, follow=True)
    assert b"Revoked: 1 token no longer works." in response.content and token.encode() not in response.content
    assert IssuedToken.objects.get().revoked_at is not None and Exposure.objects.get().token_jti == unverified(token)["jti"]


def test_a_personal_api_token_pasted_as_a_bearer_header_is_revoked_on_the_api_too(client_for, charlie, alice):
    from nhiportal.people.services import api_token_create  # as the other personal token tests here

    token, raw = api_token_create(user=alice, name="ci pipeline", days=30)
    body = client_for(charlie).post("/api/v1/exposures/", {"token": f"Authorization: Bearer {raw}", "where_found": "a CI log"}, content_type="application/json")
    assert body.status_code == 201 and body.json()["personal_api_token"] is True
    token.refresh_from_db()
    assert token.revoked_at is not None


@pytest.mark.parametrize("pasted", ["hello world", "Authorization: Bearer", "Bearer ", "DPoP not-a-jwt", "'   '"])
def test_a_paste_with_no_token_in_it_says_so_not_that_nothing_needs_revoking(client_for, charlie, agent, get_token, pasted):
    get_token(agent)
    response = client_for(charlie).post(REPORT, {"token": pasted, "where_found": "a log"})
    html = response.content.decode()
    assert response.status_code == 400 and "No token or key found in what you pasted" in html and "nothing here to revoke" not in html
    api = client_for(charlie).post("/api/v1/exposures/", {"token": pasted, "where_found": "a log"}, content_type="application/json")
    assert api.status_code == 400 and "token" in api.json()
    assert not Exposure.objects.exists() and IssuedToken.objects.get().revoked_at is None


# The "Key leaked?" page: what reporting will take, counted before anything is submitted


def test_the_key_leaked_page_counts_what_reporting_will_take_before_it_is_sent(client_for, alice, agent, get_token):
    get_token(agent)
    credential = WorkloadCredential.objects.get(kid=agent.kid)
    url = f"/identities/{agent.identity.pk}/credentials/{credential.pk}/exposed/"
    page = client_for(alice).get(url).content.decode()
    assert "The credential is disabled now" not in page and "Reporting it disables the credential at once" in page
    assert "<strong>1 live token</strong> is revoked" in page
    assert "This is agent-1's last enabled credential." in page and "no enabled credential is left" in page
    credential_add_jwk(actor=alice, identity=agent.identity, jwk=public_jwk(new_private_key()))
    page = client_for(alice).get(url).content.decode()
    assert "1 other enabled credential stays" in page and "last enabled credential" not in page
    assert WorkloadCredential.objects.get(pk=credential.pk).enabled and not Exposure.objects.exists()
    client_for(alice).post(url, {"where_found": "public gist"})
    page = client_for(alice).get(url).content.decode()
    assert "This credential is disabled already" in page and "live token" not in page
