"""Where an identity's tokens are asked for from: the first network is its baseline, a later one is news."""

from datetime import timedelta
from io import StringIO

from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from inventory.models import AIIdentity
from inventory.services import identity_update
from nhiportal.audit.models import AuditEvent
from tokens.models import SourceNetwork
from tokens.posture import posture
from tokens.source_networks import network_of

from .conftest import token_request


def networks(agent):
    return list(SourceNetwork.objects.filter(identity=agent.identity).order_by("first_seen_at").values_list("network", flat=True))


def test_the_first_network_is_the_baseline_and_a_later_one_is_announced(agent, oauth, crm, grant):
    grant(agent, crm, ["tickets:read"])
    assert token_request(oauth, agent, address="10.20.3.4").status_code == 200
    assert networks(agent) == ["10.20.3.0/24"]
    first = AuditEvent.objects.get(action="identity.first_network")
    assert first.identity_id == agent.identity.pk and first.actor_label == f"agent:{agent.client_id}"
    assert "new_network" not in [f.key for f in posture(agent.identity)["factors"]]

    token_request(oauth, agent, address="10.20.3.200")  # the same /24: an autoscaled replica
    assert networks(agent) == ["10.20.3.0/24"]
    assert not AuditEvent.objects.filter(action="identity.new_network").exists()

    assert token_request(oauth, agent, address="198.51.100.7").status_code == 200
    assert networks(agent) == ["10.20.3.0/24", "198.51.100.0/24"]
    news = AuditEvent.objects.get(action="identity.new_network")
    assert news.after == {"network": "198.51.100.0/24", "address": "198.51.100.7"}
    assert news.object_repr == f"{agent.identity.name} from 198.51.100.0/24"
    assert "new_network" in [f.key for f in posture(agent.identity)["factors"]]


def test_a_new_network_counts_in_the_risk_for_a_week_only(agent, oauth, crm, grant):
    grant(agent, crm, ["tickets:read"])
    token_request(oauth, agent, address="10.20.3.4")
    token_request(oauth, agent, address="198.51.100.7")
    SourceNetwork.objects.filter(identity=agent.identity).update(first_seen_at=SourceNetwork.objects.get(network="10.20.3.0/24").first_seen_at - timedelta(days=8))
    assert "new_network" not in [f.key for f in posture(agent.identity)["factors"]]


def test_a_refused_request_records_no_network(agent, oauth, crm, grant, alice):
    grant(agent, crm, ["tickets:read"])
    identity = agent.identity
    identity_update(actor=alice, identity=identity, expected_version=identity.version, allowed_networks=["10.20.0.0/16"])
    assert token_request(oauth, agent, address="198.51.100.7").status_code == 400
    assert token_request(oauth, agent, address="10.20.3.4", scope="tickets:admin").status_code == 400
    assert networks(agent) == []
    assert not AuditEvent.objects.filter(action__endswith="_network").exists()


def test_addresses_group_into_a_24_or_a_64():
    assert network_of("10.20.3.4") == "10.20.3.0/24"
    assert network_of("::ffff:10.20.3.4") == "10.20.3.0/24"
    assert network_of("2001:db8:42:7::9") == "2001:db8:42:7::/64"
    assert network_of("not an address") is None


def test_the_identity_page_shows_where_it_asks_from_and_an_outsider_sees_nothing(agent, oauth, crm, grant, client_for, alice, charlie):
    grant(agent, crm, ["tickets:read"])
    panel = reverse("tokens:identity-credentials-panel", args=[agent.identity.pk])
    assert "No token yet" in client_for(alice).get(panel).content.decode()
    token_request(oauth, agent, address="10.20.3.4")
    token_request(oauth, agent, address="198.51.100.7")
    html = client_for(alice).get(panel).content.decode()
    assert "<code>198.51.100.0/24</code>" in html and "<code>10.20.3.0/24</code>" in html
    assert html.index("198.51.100.0/24") < html.index(">new</span>") < html.index("10.20.3.0/24") < html.index("first seen")
    assert client_for(charlie).get(panel).status_code == 404


def notify() -> str:
    out = StringIO()
    call_command("notify_new_networks", stdout=out)
    return out.getvalue()


def test_owners_hear_once_of_a_new_network_and_never_of_the_baseline(make_agent, oauth, crm, grant, alice, bob, charlie):
    agent = make_agent(alice, backups=[bob])
    grant(agent, crm, ["tickets:read"])
    token_request(oauth, agent, address="10.20.3.4")
    assert "Told 0 owner(s) about 0 new network(s)." in notify()
    token_request(oauth, agent, address="198.51.100.7")
    assert "Told 2 owner(s) about 1 new network(s)." in notify()
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com"]
    body = mail.outbox[0].body
    assert "198.51.100.0/24" in body and "10.20.3.0/24" not in body
    assert f"/identities/{agent.identity.pk}/#credentials" in body
    assert AuditEvent.objects.get(action="identities.notify_new_networks").after == {"networks": 1, "people": 2}
    assert "Told 0 owner(s)" in notify()
    assert len(mail.outbox) == 2



def test_the_dashboard_card_lists_new_networks_to_those_who_see_the_identity(agent, make_agent, oauth, crm, grant, alice, bob, charlie, sam, client_for, client):
    grant(agent, crm, ["tickets:read"])
    token_request(oauth, agent, address="10.20.3.4")  # the baseline: not news
    assert client_for(alice).get("/identities/new-network-card/").context["count"] == 0
    token_request(oauth, agent, address="198.51.100.7")
    assert 'hx-get="/identities/new-network-card/"' in client_for(alice).get("/").content.decode()
    card = client_for(alice).get("/identities/new-network-card/")
    assert card.context["count"] == 1 and card.context["networks"][0].network == "198.51.100.0/24"
    assert f"/identities/{agent.identity.pk}/#credentials" in card.content.decode()
    assert client_for(sam).get("/identities/new-network-card/").context["count"] == 1
    outsider = client_for(charlie).get("/identities/new-network-card/")
    assert outsider.context["count"] == 0 and agent.identity.name not in outsider.content.decode()
    assert client.get("/identities/new-network-card/").status_code == 302


def test_the_api_lists_the_networks_of_the_identities_you_see(agent, make_agent, oauth, crm, grant, alice, bob, charlie, client_for, client):
    grant(agent, crm, ["tickets:read"])
    token_request(oauth, agent, address="10.20.3.4")
    token_request(oauth, agent, address="198.51.100.7")
    url = reverse("api:source-network-list")
    rows = client_for(alice).get(url).json()["results"]
    assert [(r["network"], r["baseline"]) for r in rows] == [("198.51.100.0/24", False), ("10.20.3.0/24", True)]
    assert rows[0]["identity"] == str(agent.identity.pk) and rows[0]["identity_name"] == agent.identity.name
    news = client_for(alice).get(url, {"new": "true", "identity": str(agent.identity.pk)}).json()["results"]
    assert [r["network"] for r in news] == ["198.51.100.0/24"]
    assert client_for(alice).get(url, {"identity": "not-a-uuid"}).status_code == 400
    assert client_for(charlie).get(url).json()["results"] == []
    assert client.get(url).status_code in (401, 403)


def test_an_owner_binds_the_identity_to_the_networks_it_used_in_one_click(agent, oauth, crm, grant, alice, rita, charlie, client_for):
    grant(agent, crm, ["tickets:read"])
    token_request(oauth, agent, address="10.20.3.4")
    token_request(oauth, agent, address="10.20.7.1")
    panel = reverse("tokens:identity-credentials-panel", args=[agent.identity.pk])
    bind = reverse("tokens:identity-networks-bind", args=[agent.identity.pk])
    assert "Allow only these networks" in client_for(alice).get(panel).content.decode()
    assert "Allow only these networks" not in client_for(rita).get(panel).content.decode()  # reads, does not change
    version = AIIdentity.objects.get(pk=agent.identity.pk).version

    assert client_for(charlie).post(bind, {"version": version}).status_code == 404
    assert client_for(rita).post(bind, {"version": version}).status_code == 403
    stale = client_for(alice).post(bind, {"version": version - 1}, follow=True)
    assert "changed since you loaded it" in stale.content.decode()
    assert AIIdentity.objects.get(pk=agent.identity.pk).allowed_networks == []

    done = client_for(alice).post(bind, {"version": version}, follow=True)
    assert "now gets tokens only from 10.20.3.0/24, 10.20.7.0/24" in done.content.decode()
    assert AIIdentity.objects.get(pk=agent.identity.pk).allowed_networks == ["10.20.3.0/24", "10.20.7.0/24"]
    assert AuditEvent.objects.get(action="identity.update").after == {"allowed_networks": ["10.20.3.0/24", "10.20.7.0/24"]}
    assert token_request(oauth, agent, address="198.51.100.7").json()["error"] == "unauthorized_client"
    assert "Allow only these networks" not in client_for(alice).get(panel).content.decode()
