"""People sign in through the organisation's OpenID Connect provider: a live provider on
loopback (tests/oidc_provider.py), real HTTP between the portal and it, real ID token
signatures. The browser's part (following redirects) is played by the test client and requests."""

from urllib.parse import urlencode, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.checks import run_checks
from django.test import Client

from nhiportal.audit.models import AuditEvent
from nhiportal.people.models import SingleSignOnLink
from nhiportal.people.roles import roles_of
from nhiportal.people.services import person_deactivate
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
User = get_user_model()


def _start(client, next_url=None):
    return client.get("/accounts/sso/" + (f"?{urlencode({'next': next_url})}" if next_url else ""))


def _at_provider(start):
    """The browser at the provider: where the provider sends it back (path and query)."""
    assert start.status_code == 302, start.content
    answer = requests.get(start["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}"


def sign_in(client, next_url=None):
    return client.get(_at_provider(_start(client, next_url)))


def signed_in_as(client):
    response = client.get("/")
    return response.wsgi_request.user.get_username() if response.status_code == 200 else None


def test_a_new_person_signs_in_and_is_created_with_the_starting_role(oidc_provider):
    client = Client()
    response = sign_in(client)
    assert response.status_code == 302 and response["Location"] == "/"
    person = User.objects.get(username="ada")
    assert (person.email, person.first_name, person.last_name) == ("ada@example.com", "Ada", "Lovelace")
    assert not person.has_usable_password() and roles_of(person) == {"owner"}
    assert SingleSignOnLink.objects.get(user=person).subject == "00u-ada"
    assert signed_in_as(client) == "ada"
    event = AuditEvent.objects.get(action="person.sso_provisioned")
    assert event.object_repr == "ada" and event.after["roles"] == ["owner"] and event.after["subject"] == "00u-ada"
    # The authorization request used PKCE and a nonce, and asked for the configured scope.
    asked = oidc_provider.authorizations[-1]
    assert asked["code_challenge_method"] == "S256" and asked["nonce"] and asked["scope"] == "openid email profile"


def test_a_second_sign_in_finds_the_person_by_subject_and_writes_nothing_when_nothing_changed(oidc_provider):
    sign_in(Client())
    events = AuditEvent.objects.count()
    assert signed_in_as(_signed_in(Client())) == "ada"
    assert User.objects.filter(username__startswith="ada").count() == 1 and AuditEvent.objects.count() == events
    # The provider renames them: still the same person (the subject), the profile follows.
    oidc_provider.person.update(preferred_username="ada.king", email="ada.king@example.com")
    assert signed_in_as(_signed_in(Client())) == "ada"
    assert User.objects.get(username="ada").email == "ada.king@example.com"
    event = AuditEvent.objects.get(action="person.sso_updated")
    assert event.before == {"email": "ada@example.com"} and event.after["email"] == "ada.king@example.com"


def _signed_in(client):
    sign_in(client)
    return client


def test_it_sends_the_person_where_they_were_going_but_never_off_the_portal(oidc_provider):
    assert sign_in(Client(), "/identities/?status=active")["Location"] == "/identities/?status=active"
    assert sign_in(Client(), "https://evil.example/phish")["Location"] == "/"


def test_a_full_width_username_at_the_provider_is_no_look_alike_of_a_portal_account(oidc_provider, sam):
    oidc_provider.person.update(sub="00u-mallory", preferred_username="\uff53\uff41\uff4d", email="mallory@example.com", email_verified=False)
    assert signed_in_as(_signed_in(Client())) == "sam-2"


def test_a_verified_email_links_an_existing_account_and_an_unverified_one_does_not(oidc_provider, alice):
    oidc_provider.person.update(sub="00u-alice", preferred_username="alice", email="ALICE@example.com", email_verified=False)
    client = _signed_in(Client())
    # Neither the username nor an unverified email takes over alice's account.
    assert signed_in_as(client) == "alice-2" and not alice.sso_links.exists()

    oidc_provider.person.update(sub="00u-alice-at-work", email_verified=True)
    # Two people now have that email (alice-2 took it from the provider): which one is meant
    # cannot be told, so neither is linked.
    assert signed_in_as(_signed_in(Client())) == "alice-3"
    User.objects.filter(username__in=["alice-2", "alice-3"]).delete()
    oidc_provider.person.update(sub="00u-alice-for-real")
    assert signed_in_as(_signed_in(Client())) == "alice"
    assert alice.sso_links.get().subject == "00u-alice-for-real"
    event = AuditEvent.objects.get(action="person.sso_linked")
    assert event.object_repr == "alice" and "roles" not in event.after  # roles stay the portal's without a mapping


def test_roles_follow_the_providers_groups_when_mapped(oidc_provider, settings):
    settings.SSO = oidc_provider.settings(ROLE_GROUPS=[("reviewer", "nhi-reviewers"), ("security_admin", "secops"), ("owner", "ai-builders")])
    oidc_provider.person["groups"] = ["nhi-reviewers", "ai-builders", "finance"]
    sign_in(Client())
    assert roles_of(User.objects.get(username="ada")) == {"reviewer", "owner"}

    oidc_provider.person["groups"] = ["secops"]
    sign_in(Client())
    assert roles_of(User.objects.get(username="ada")) == {"security_admin"}
    event = AuditEvent.objects.get(action="person.sso_updated")
    assert event.before == {"roles": ["owner", "reviewer"]} and event.after["roles"] == ["security_admin"]
    assert event.actor_label == "system:sso" and "Example IdP" in event.reason

    # A token without the groups claim says nothing about roles: they stay.
    del oidc_provider.person["groups"]
    sign_in(Client())
    assert roles_of(User.objects.get(username="ada")) == {"security_admin"}


def test_a_deactivated_person_is_refused_and_nothing_is_written(oidc_provider, alice, sam):
    oidc_provider.person.update(sub="00u-alice", email="alice@example.com")
    sign_in(Client())
    person_deactivate(person=alice, actor=sam, reason="left the company")
    events = AuditEvent.objects.count()
    client = Client()
    response = sign_in(client)
    assert response.status_code == 403 and b"deactivated" in response.content
    assert signed_in_as(client) is None and AuditEvent.objects.count() == events


def test_unknown_people_are_refused_when_creating_people_is_off(oidc_provider, settings):
    settings.SSO = oidc_provider.settings(CREATE_PEOPLE=False)
    client = Client()
    response = sign_in(client)
    assert response.status_code == 403 and b"No NHI Portal account matches your sign-in" in response.content
    assert not User.objects.filter(username="ada").exists() and not SingleSignOnLink.objects.exists()


def _refused(client, response):
    assert response.status_code == 400 and b"could not be completed" in response.content
    assert signed_in_as(client) is None and not User.objects.filter(username="ada").exists()


def test_an_id_token_signed_by_another_key_is_refused(oidc_provider):
    from cryptography.hazmat.primitives.asymmetric import ec

    oidc_provider.signing_key = ec.generate_private_key(ec.SECP256R1())
    client = Client()
    _refused(client, sign_in(client))


@pytest.mark.parametrize("claim, value", [("aud", "another-client"), ("iss", "https://other.example"), ("nonce", "replayed-nonce"), ("exp", 1_000_000_000)])
def test_an_id_token_for_another_client_issuer_nonce_or_time_is_refused(oidc_provider, claim, value):
    oidc_provider.tamper = lambda claims: {**claims, claim: value}
    client = Client()
    _refused(client, sign_in(client))


def test_a_callback_without_the_sessions_state_is_refused_and_a_code_works_once(oidc_provider):
    back = _at_provider(_start(Client()))  # started in another browser: this one holds no state
    client = Client()
    _refused(client, client.get(back))

    client = Client()
    back = _at_provider(_start(client))
    assert client.get(back).status_code == 302
    client.logout()
    response = client.get(back)  # the same code and state again
    assert response.status_code == 400 and signed_in_as(client) is None


def test_the_providers_refusal_is_shown(oidc_provider):
    oidc_provider.refuse_with = "access_denied"
    client = Client()
    response = sign_in(client)
    assert response.status_code == 400 and b"Example IdP did not sign you in (access_denied)." in response.content
    assert b"The person said no" not in response.content  # the provider's words are not ours to show
    assert signed_in_as(client) is None
    forged = Client().get("/accounts/sso/callback/?" + urlencode({"error": "Call +1 555 0100 to unlock", "state": "x"}))
    assert forged.status_code == 400 and b"did not sign you in. Start again" in forged.content and b"555" not in forged.content


def test_a_provider_that_cannot_be_reached_or_names_another_issuer_is_reported(oidc_provider, settings):
    oidc_provider.published_issuer = "https://impostor.example"
    response = _start(Client())
    assert response.status_code == 502 and b"Example IdP could not be reached" in response.content

    oidc_provider.stop()
    settings.SSO = oidc_provider.settings(ISSUER="http://127.0.0.1:9")  # nothing listens there
    response = _start(Client())
    assert response.status_code == 502 and b"Example IdP could not be reached" in response.content


def test_the_sign_in_page_offers_the_provider_beside_the_password_form(oidc_provider):
    page = Client().get("/accounts/login/?next=/claims/")
    assert b"Sign in with Example IdP" in page.content and b"/accounts/sso/?next=/claims/" in page.content
    assert b'name="password"' in page.content


def test_without_a_provider_its_pages_are_not_found(db):
    assert Client().get("/accounts/sso/").status_code == 404
    assert Client().get("/accounts/sso/callback/?code=x&state=y").status_code == 404
    assert b"Sign in with" not in Client().get("/accounts/login/").content


def test_with_passwords_off_only_the_provider_signs_people_in(oidc_provider, settings, alice):
    settings.PASSWORD_SIGN_IN = False
    page = Client().get("/accounts/login/")
    assert b"Sign in with Example IdP" in page.content and b'name="password"' not in page.content
    client = Client()
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 403 and b"Passwords are not accepted here" in response.content
    assert signed_in_as(client) is None
    client = _signed_in(Client())
    assert signed_in_as(client) == "ada" and b"/accounts/password/" not in client.get("/").content


def test_django_admin_signs_people_in_through_the_portals_page(client_for, charlie, db):
    staff = User.objects.create_superuser("root-admin", "root@example.com", PASSWORD)
    response = Client().get("/admin/login/?next=/admin/audit/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/admin/audit/"
    client = Client()
    assert client.post("/admin/login/", {"username": "root-admin", "password": PASSWORD}).status_code == 302
    assert signed_in_as(client) is None  # the admin's form signs nobody in
    assert client_for(charlie).get("/admin/login/").status_code == 403
    assert client_for(staff).get("/admin/login/")["Location"] == "/admin/"


def test_sign_in_settings_that_would_lock_everyone_out_fail_the_checks(settings):
    settings.PASSWORD_SIGN_IN = False
    settings.SSO = {**settings.SSO, "ISSUER": ""}
    ids = {message.id for message in run_checks()}
    assert "people.E002" in ids
    settings.PASSWORD_SIGN_IN = True
    settings.SSO = {**settings.SSO, "ISSUER": "https://idp.example", "CLIENT_ID": "portal", "CLIENT_SECRET": "",
                    "ROLE_GROUPS": [("auditor", "grc")], "NEW_PERSON_ROLES": ["admin"]}
    settings.MFA_REQUIRED_ROLES = ["superuser"]
    assert {"people.E001", "people.E003", "people.E004", "people.E005"} <= {message.id for message in run_checks()}


def test_the_person_page_says_how_they_sign_in(oidc_provider, settings, client_for, sam, alice):
    settings.SSO = oidc_provider.settings(ROLE_GROUPS=[("owner", "ai-builders")])
    oidc_provider.person["groups"] = ["ai-builders"]
    sign_in(Client())
    ada = User.objects.get(username="ada")
    page = client_for(sam).get(f"/users/{ada.pk}/").content.decode()
    assert "through Example IdP" in page and "00u-ada" in page
    assert "Roles follow Example IdP's groups" in page
    assert "with a password" in client_for(sam).get(f"/users/{alice.pk}/").content.decode()


def test_a_person_the_directory_created_is_found_at_their_first_sign_in(oidc_provider, sam):
    from nhiportal.people.directory_sync import directory_person_create
    from nhiportal.people.models import TokenPurpose
    from nhiportal.people.services import api_token_create

    token, _ = api_token_create(user=sam, name="okta", days=30, purpose=TokenPurpose.DIRECTORY_SYNC)
    fields = {"username": "grace", "email": "grace@example.com", "first_name": "", "last_name": "", "active": True}
    # Okta: the external id is the subject its ID tokens carry.
    directory_person_create(token=token, fields={**fields, "external_id": "00u-grace"})
    oidc_provider.person.update(sub="00u-grace", preferred_username="grace.h", email="grace@example.com", email_verified=False)
    assert signed_in_as(_signed_in(Client())) == "grace"
    # Entra ID: no external id to match, but the userName it set is the token's preferred_username.
    directory_person_create(token=token, fields={**fields, "username": "lin@corp.example", "email": "", "external_id": ""})
    oidc_provider.person.update(sub="entra-pairwise-sub", preferred_username="LIN@corp.example", email_verified=False)
    oidc_provider.person.pop("email")
    assert signed_in_as(_signed_in(Client())) == "lin@corp.example"
    assert AuditEvent.objects.filter(action="person.sso_linked").count() == 2
