"""since/until on every API list of things that happen: the same names, the same ISO 8601
instants with their zone, the same 400 naming the parameter for a bad one, documented in the
schema; and a window narrows only what the person may see already."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from inventory.models import AIIdentity, Attestation, Campaign, OwnershipClaim
from nhiportal.audit.models import AuditEvent
from nhiportal.time_window import INSTANT_NEEDED
from tokens.models import AccessRequest, Delegation, Exposure, Grant, SourceNetwork, Task, WorkloadCredential
from tokens.policy.models import PolicyDecision
from tests.conftest import _person

API = "/api/v1/"

# list -> the model of its rows and the moment each row happened
WINDOWED = {
    "audit-events/": (AuditEvent, "at"),
    "policy-decisions/": (PolicyDecision, "at"),
    "tasks/": (Task, "opened_at"),
    "exposures/": (Exposure, "contained_at"),
    "access-requests/": (AccessRequest, "requested_at"),
    "grants/": (Grant, "created_at"),
    "credentials/": (WorkloadCredential, "created_at"),
    "delegations/": (Delegation, "created_at"),
    "source-networks/": (SourceNetwork, "first_seen_at"),
    "claims/": (OwnershipClaim, "claimed_at"),
    "attestations/": (Attestation, "attested_at"),
    "campaigns/": (Campaign, "launched_at"),
}
# Lists the outsider may call (the audit log and decision log refuse them outright).
OPEN_TO_OWNERS = [name for name in WINDOWED if name not in ("audit-events/", "policy-decisions/")]


@pytest.fixture
def demo(portal, client_for):
    """A signed-in client of the demo portal's people (alice owns, sam is a security admin),
    or of olga, who has no role and owns nothing."""

    def sign_in(username):
        if username == "olga":
            return client_for(_person("olga"))
        return client_for(get_user_model().objects.get(username=username))

    return sign_in


def count(response) -> int:
    assert response.status_code == 200, response.content
    return response.json()["count"]


def _one_recent_row(model, field):
    """Every row of `model` ten days old but one, an hour old; the cut between them a day ago."""
    now = timezone.now()
    model.objects.update(**{field: now - timedelta(days=10)})
    recent = model.objects.order_by("pk").first()
    model.objects.filter(pk=recent.pk).update(**{field: now - timedelta(hours=1)})
    return (now - timedelta(days=1)).isoformat()


@pytest.mark.parametrize("url", WINDOWED)
def test_since_and_until_split_the_rows_at_the_instant(demo, url):
    cut = _one_recent_row(*WINDOWED[url])
    client = demo("sam")
    everything = count(client.get(API + url))
    assert count(client.get(API + url, {"since": cut})) == 1
    assert count(client.get(API + url, {"until": cut})) == everything - 1
    assert count(client.get(API + url, {"since": cut, "until": timezone.now().isoformat()})) == 1


@pytest.mark.parametrize("url", WINDOWED)
def test_it_takes_z_or_an_offset_for_the_same_instant(demo, url):
    cut = timezone.now() - timedelta(days=1)
    _one_recent_row(*WINDOWED[url])
    client = demo("sam")
    as_z = count(client.get(API + url, {"since": cut.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}))
    as_offset = count(client.get(API + url, {"since": cut.astimezone(timezone.get_fixed_timezone(-300)).isoformat()}))
    assert as_z == as_offset == 1


@pytest.mark.parametrize("url", WINDOWED)
@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("bad", ["2026-11-30T10:00:00", "2026-11-30 10:00", "last tuesday", "2026-02-30T10:00:00Z"])
def test_a_bad_instant_is_one_400_naming_the_parameter_on_every_list(db, client_for, sam, url, name, bad):
    response = client_for(sam).get(API + url, {name: bad})
    assert response.status_code == 400, response.content
    assert response.json() == {name: [INSTANT_NEEDED]}


@pytest.mark.parametrize("url", [name for name in WINDOWED if name != "policy-decisions/"])
def test_a_date_alone_is_refused_as_ambiguous(db, client_for, sam, url):
    response = client_for(sam).get(API + url, {"since": "2026-11-30"})
    assert response.status_code == 400 and response.json() == {"since": [INSTANT_NEEDED]}


@pytest.mark.parametrize("url", WINDOWED)
def test_an_empty_instant_is_a_400_not_no_filter(db, client_for, sam, url):
    response = client_for(sam).get(API + url, {"until": ""})
    assert response.status_code == 400 and list(response.json()) == ["until"]


@pytest.mark.parametrize("url", OPEN_TO_OWNERS)
def test_an_outsider_still_sees_nothing_in_any_window(demo, url):
    client = demo("olga")
    ever = (timezone.now() - timedelta(days=3650)).isoformat()
    assert count(client.get(API + url, {"since": ever})) == 0
    assert count(client.get(API + url, {"until": (timezone.now() + timedelta(days=1)).isoformat()})) == 0


@pytest.mark.parametrize("url", ["audit-events/", "policy-decisions/"])
def test_an_outsider_is_refused_the_logs_whatever_the_window(db, client_for, charlie, url):
    response = client_for(charlie).get(API + url, {"since": timezone.now().isoformat()})
    assert response.status_code == 403


def test_the_decision_log_still_takes_a_date_alone_as_that_whole_day(demo):
    cut = _one_recent_row(PolicyDecision, "at")
    client = demo("sam")
    everything = count(client.get(API + "policy-decisions/"))
    today = timezone.now().date()
    ten_days_ago = (timezone.now() - timedelta(days=10)).date()
    assert count(client.get(API + "policy-decisions/", {"since": today.isoformat()})) == 1
    assert count(client.get(API + "policy-decisions/", {"until": ten_days_ago.isoformat()})) == everything - 1
    assert count(client.get(API + "policy-decisions/", {"since": cut})) == 1
    assert client.get(API + "policy-decisions/", {"since": "2026-02-30"}).json() == {"since": [INSTANT_NEEDED]}


def test_an_identitys_history_takes_the_window_and_stays_its_owners(demo):
    identity = AIIdentity.objects.filter(ownerships__person__username="alice").order_by("pk").first()
    url = f"{API}identities/{identity.pk}/history/"
    client = demo("alice")
    everything = count(client.get(url))
    cut = timezone.now().isoformat()
    AuditEvent.objects.filter(identity_id=identity.pk).update(at=timezone.now() - timedelta(days=10))
    assert count(client.get(url, {"since": cut})) == 0
    assert count(client.get(url, {"until": cut})) == everything
    assert client.get(url, {"since": "soon"}).json() == {"since": [INSTANT_NEEDED]}
    assert demo("olga").get(url, {"since": cut}).status_code == 404


def test_the_lists_actions_neither_take_nor_describe_the_window(db, client_for, sam):
    described = client_for(sam).get("/api/schema/", {"format": "json"}).json()["paths"]
    for path in ("/api/v1/grants/unused/", "/api/v1/claims/orphaned/", "/api/v1/campaigns/{id}/items/"):
        assert not {"since", "until"} & {p["name"] for p in described[path]["get"].get("parameters", [])}, path


@pytest.mark.parametrize("url", WINDOWED)
def test_the_schema_describes_since_and_until_as_zoned_instants(db, client_for, sam, url):
    described = client_for(sam).get("/api/schema/", {"format": "json"}).json()
    parameters = {p["name"]: p for p in described["paths"][f"{API}{url}"]["get"]["parameters"]}
    for name in ("since", "until"):
        assert parameters[name]["schema"] == {"type": "string", "format": "date-time"}, (url, name)
        assert "zone" in parameters[name]["description"], (url, name)
