"""The inventory filters by whether an identity is asked to attest and has no due date, has a
token rate limit or was refused for it lately, has an owner the directory keeps, holds old
access no review kept, and holds access at all (NHIP-03, -24, -20, -22 and -09 link to them),
on the list page and in the API alike; each narrows what the person may see and adds nothing
to it, and a value other than yes or no is refused."""

import sqlite3
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from inventory.models import AIIdentity
from inventory.services import identity_offboard, identity_suspend
from nhiportal.people.models import SingleSignOnLink
from tests.conftest import _person
from tests.tokens.conftest import make_agent  # noqa: F401
from tokens.models import Grant, TokenPace, WorkloadCredential
from tokens.services import grant_create, service_create

pytestmark = pytest.mark.django_db

PAGE = "/identities/"
API = reverse("api:identity-list")
NAMES = ("attesting", "no_due_date", "rate_limited", "rate_refused", "directory_owner", "unreviewed_access", "holds_access")


def shown(client, **query) -> set[str]:
    response = client.get(PAGE, query)
    assert response.status_code == 200
    return {i.name for i in response.context["identities"]}


def listed(client, **query) -> set[str]:
    response = client.get(API, query)
    assert response.status_code == 200
    return {i["name"] for i in response.json()["results"]}


@pytest.fixture
def cast(settings, alice, bob, sam, make_identity, make_agent):
    """alice's: active with a due date and her own rate limit, refused for it yesterday; active
    without a due date, refused ten days ago; suspended without one; registered. bob's: active,
    and dora (linked through single sign-on) backs it. No portal-wide rate limit. a-dated's
    grant is over a year old and no review kept it; a-undated's is new."""
    settings.NHI = {**settings.NHI, "TOKEN_RATE_PER_MINUTE": 0}
    dated = make_agent(alice, name="a-dated", token_rate_per_minute=60).identity
    undated = make_agent(alice, name="a-undated").identity
    suspended = make_agent(alice, name="a-suspended").identity
    identity_suspend(actor=sam, identity=suspended, reason="paused")
    make_identity(alice, name="a-registered")
    dora = _person("dora", "owner")
    SingleSignOnLink.objects.create(user=dora, issuer="https://idp.example.com", subject="dora")
    make_agent(bob, name="b-kept", backups=[dora])
    AIIdentity.objects.filter(pk__in=[undated.pk, suspended.pk]).update(attestation_due=None)
    now = timezone.now()
    TokenPace.objects.create(identity=dated, next_at=now.timestamp(), slowed_at=now - timedelta(days=1))
    TokenPace.objects.create(identity=undated, next_at=now.timestamp(), slowed_at=now - timedelta(days=10))
    crm = service_create(actor=sam, name="CRM", audience="https://crm.example.com", owner=sam, scopes=["tickets:read"])
    for identity in (dated, undated):
        grant_create(actor=sam, identity=identity, service=crm, scopes=["tickets:read"], ends_at=now + timedelta(days=30), justification="tests")
    Grant.objects.filter(identity=dated).update(created_at=now - timedelta(days=400))


@pytest.mark.parametrize("read", [shown, listed])
def test_it_filters_by_attesting_due_date_rate_limit_directory_owner_and_unreviewed_access(read, cast, carol, client_for):
    client = client_for(carol)
    assert read(client, attesting="true") == {"a-dated", "a-undated", "a-suspended", "b-kept"}
    assert read(client, attesting="false") == {"a-registered"}
    assert read(client, attesting="true", no_due_date="true") == {"a-undated", "a-suspended"}
    assert read(client, rate_limited="true") == {"a-dated"}
    assert read(client, rate_refused="true") == {"a-dated"}
    assert read(client, directory_owner="true") == {"b-kept"}
    assert read(client, directory_owner="false") == {"a-dated", "a-undated", "a-suspended", "a-registered"}
    assert read(client, unreviewed_access="true") == {"a-dated"}


@pytest.mark.parametrize("read", [shown, listed])
def test_directory_owner_holds_however_many_people_the_directory_keeps(read, cast, carol, client_for):
    """Who the directory keeps is asked of the database, not sent to it one id per parameter:
    an organisation's thousands of people pass SQLite's limit on parameters (999 before 3.32)."""
    people = get_user_model().objects.bulk_create([get_user_model()(username=f"staff-{n}") for n in range(1200)])
    SingleSignOnLink.objects.bulk_create(
        [SingleSignOnLink(user=p, issuer="https://idp.example.com", subject=p.username) for p in people]
    )
    client = client_for(carol)
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    assert read(client, directory_owner="true") == {"b-kept"}


@pytest.mark.parametrize("read", [shown, listed])
def test_it_filters_by_whether_an_identity_holds_access(read, cast, alice, carol, client_for, make_agent):
    """A grant not revoked and not ended, or an enabled credential: what offboarding takes away.
    Of three offboarded identities, one kept a grant and one a credential (data from before the
    rule, say); the third holds nothing. A suspended one keeps its credential."""
    gone = {name: make_agent(alice, name=name).identity for name in ("o-grant", "o-key", "o-clean")}
    for identity in gone.values():
        identity_offboard(actor=alice, identity=identity, reason="retired")
    crm = Grant.objects.filter(identity__name="a-dated").get().service
    Grant.objects.create(identity=gone["o-grant"], service=crm, scopes=["tickets:read"], starts_at=timezone.now(),
                         ends_at=timezone.now() + timedelta(days=30), justification="left behind")
    WorkloadCredential.objects.filter(identity=gone["o-key"]).update(enabled=True)
    client = client_for(carol)
    assert read(client, status="offboarded", holds_access="true") == {"o-grant", "o-key"}
    assert read(client, status="offboarded", holds_access="false") == {"o-clean"}
    # Those in service hold at least the credential they were registered with.
    assert read(client, holds_access="true") == {"a-dated", "a-undated", "a-suspended", "a-registered", "b-kept", "o-grant", "o-key"}


@pytest.mark.parametrize("read", [shown, listed])
def test_with_a_portal_default_every_identity_has_a_rate_limit(read, cast, settings, carol, client_for):
    settings.NHI = {**settings.NHI, "TOKEN_RATE_PER_MINUTE": 600}
    assert read(client_for(carol), rate_limited="false") == set()
    assert len(read(client_for(carol), rate_limited="true")) == 5


@pytest.mark.parametrize("read", [shown, listed])
def test_an_owner_finds_only_their_own_and_an_outsider_nothing(read, cast, bob, charlie, client_for):
    for name in NAMES:
        for value in ("true", "false"):
            assert read(client_for(charlie), **{name: value}) == set()
    assert read(client_for(bob), directory_owner="true") == {"b-kept"}
    assert read(client_for(bob), rate_refused="true") == set()
    assert read(client_for(bob), attesting="true", no_due_date="true") == set()


def test_the_filters_are_on_the_list_page_with_the_others(cast, carol, client_for):
    page = client_for(carol).get(PAGE, {"rate_refused": "true"}).content.decode()
    for name in (*NAMES, "orphaned"):
        assert f'name="{name}"' in page
    assert '<option value="true" selected>Yes</option>' in page


@pytest.mark.parametrize("name", NAMES)
def test_a_value_other_than_yes_or_no_is_refused_not_ignored(name, cast, carol, client_for):
    client = client_for(carol)
    assert client.get(PAGE, {name: "maybe"}).status_code == 400
    response = client.get(API, {name: "maybe"})
    assert response.status_code == 400 and name in response.json()
