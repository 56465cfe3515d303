"""An identity's risk: each factor found by the rule the portal already applies, weighted and
summed; stored hourly for the inventory's sort and filter; read live on the identity page."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from inventory.models import AIIdentity, Autonomy, Sensitivity
from nhiportal.audit.models import AuditEvent
from nhiportal.audit.services import system_actor
from nhiportal.people.services import person_deactivate
from tokens.exposures import exposure_report_token
from tokens.models import WorkloadCredential
from tokens.posture import FACTORS, factors_by_identity, identities_score, posture

pytestmark = pytest.mark.django_db


def factors(identity):
    return factors_by_identity(AIIdentity.objects.filter(pk=identity.pk)).get(identity.pk, [])


def test_a_sound_identity_has_no_risk(agent):
    assert posture(agent.identity) == {"factors": [], "score": 0, "level": "none"}


def test_each_factor_is_found_by_the_rule_it_names(make_agent, make_identity, alice, bob, sam, get_token):
    leaked = make_agent(bob)
    token = get_token(leaked)["access_token"]
    exposure_report_token(actor=sam, token=token, where_found="a build log")
    assert factors(leaked.identity) == ["leaked"]

    risky = make_agent(alice, autonomy=Autonomy.AUTONOMOUS, sensitivity_ceiling=Sensitivity.RESTRICTED)
    WorkloadCredential.objects.filter(identity=risky.identity).update(created_at=timezone.now() - timedelta(days=200))
    AIIdentity.objects.filter(pk=risky.identity.pk).update(attestation_due=timezone.localdate() - timedelta(days=1))
    assert factors(risky.identity) == ["attestation_overdue", "autonomous_sensitive", "key_rotation_due"]
    assert posture(risky.identity)["score"] == 15 + 10 + 10 and posture(risky.identity)["level"] == "medium"

    draft = make_identity(alice, offboarding_plan="")
    assert factors(draft) == ["undocumented"]

    idle = make_agent(bob)
    AIIdentity.objects.filter(pk=idle.identity.pk).update(status_changed_at=timezone.now() - timedelta(days=40))
    assert factors(idle.identity) == ["unused_identity"]
    person_deactivate(person=bob, actor=sam, reason="left")
    assert factors(idle.identity) == ["orphaned", "unused_identity"]
    assert posture(idle.identity)["level"] == "high"  # 30 + 10


def test_scoring_stores_what_changed_and_writes_one_event_for_it(make_agent, alice, sam):
    sound, gone = make_agent(alice), make_agent(alice)
    AIIdentity.objects.filter(pk=gone.identity.pk).update(status_changed_at=timezone.now() - timedelta(days=40))
    counts = identities_score(actor=system_actor("tests"))
    assert counts == {"changed": 1, "high": 0, "medium": 0, "low": 1}
    gone.identity.refresh_from_db()
    assert (gone.identity.risk_score, gone.identity.risk_factors, gone.identity.risk_level) == (10, ["unused_identity"], "low")
    assert AIIdentity.objects.get(pk=sound.identity.pk).risk_score == 0
    event = AuditEvent.objects.get(action="identities.score")
    assert event.after == {"changed": 1, "high": 0, "medium": 0, "low": 1}
    assert identities_score(actor=system_actor("tests"))["changed"] == 0
    assert AuditEvent.objects.filter(action="identities.score").count() == 1  # nothing changed, nothing written
    # The hourly sweep step runs it.
    AIIdentity.objects.filter(pk=gone.identity.pk).update(risk_score=0, risk_factors=[])
    call_command("governance_sweep", "--step", "score_identities", stdout=open("/dev/null", "w"), stderr=open("/dev/null", "w"))
    assert AIIdentity.objects.get(pk=gone.identity.pk).risk_score == 10


def test_the_score_is_capped_and_every_factor_explains_itself():
    assert sum(f.weight for f in FACTORS.values()) > 100
    for factor in FACTORS.values():
        assert factor.label and factor.fix.endswith(".")


def test_the_list_sorts_riskiest_first_and_filters_by_level(client_for, make_agent, alice, sam):
    make_agent(alice, name="calm")
    worse, worst = make_agent(alice, name="worse"), make_agent(alice, name="worst")
    AIIdentity.objects.filter(pk=worse.identity.pk).update(risk_score=25, risk_factors=["attestation_overdue", "unused_access"])
    AIIdentity.objects.filter(pk=worst.identity.pk).update(risk_score=45, risk_factors=["orphaned", "attestation_overdue"])
    client = client_for(alice)
    page = client.get("/identities/")
    header = next(c for c in page.context["columns"] if c["label"] == "Risk")
    assert header["sort"] == "-risk"  # the first click shows the riskiest first
    ranked = client.get("/identities/?sort=-risk")
    assert [i.name for i in ranked.context["identities"]] == ["worst", "worse", "calm"]
    assert "High · 45" in ranked.content.decode()
    assert [i.name for i in client.get("/identities/?risk=medium").context["identities"]] == ["worse"]
    # calm's 0 is the column's default: the scoring never ran, so it is no level yet.
    assert [i.name for i in client.get("/identities/?risk=unscored").context["identities"]] == ["calm"]
    assert [i.name for i in client.get("/identities/?risk=none").context["identities"]] == []
    assert client.get("/identities/?risk=extreme").status_code == 400
    api = client.get("/api/v1/identities/?risk=high").json()["results"]
    assert [(i["name"], i["risk_score"], i["risk_level"], i["risk_factors"]) for i in api] == [("worst", 45, "high", ["orphaned", "attestation_overdue"])]
    csv = b"".join(client.get("/identities/export.csv?sort=-risk").streaming_content).decode().splitlines()
    assert "risk_score" in csv[0] and csv[1].startswith(str(worst.identity.pk))


def test_the_identity_page_shows_what_to_fix_and_outsiders_see_nothing(client_for, make_agent, alice, charlie):
    agent = make_agent(alice, autonomy=Autonomy.AUTONOMOUS, sensitivity_ceiling=Sensitivity.RESTRICTED)
    url = f"/identities/{agent.identity.pk}/risk-panel/"
    panel = client_for(alice).get(url).content.decode()
    assert "Autonomous, with access up to confidential or restricted data" in panel and "Keep a person in the loop" in panel
    assert "Low risk · 10 of 100" in panel
    # Until the sweep stores it, policies still read the old score, and the owner is told so.
    assert "Token policies read 0 of 100" in panel
    identities_score(actor=system_actor("tests"))
    assert "Token policies read" not in client_for(alice).get(url).content.decode()
    assert client_for(charlie).get(url).status_code == 404
    assert 'hx-get="' + url in client_for(alice).get(f"/identities/{agent.identity.pk}/").content.decode()


def test_the_dashboard_charts_risk_and_names_the_riskiest_you_may_see(client_for, make_agent, alice, bob):
    mine, theirs = make_agent(alice, name="mine"), make_agent(bob, name="theirs")
    AIIdentity.objects.filter(pk=mine.identity.pk).update(risk_score=30, risk_factors=["orphaned"])
    AIIdentity.objects.filter(pk=theirs.identity.pk).update(risk_score=60, risk_factors=["orphaned", "leaked"])
    page = client_for(alice).get("/")
    assert [i.name for i in page.context["riskiest"]] == ["mine"]  # bob's is not hers to see
    html = page.content.decode()
    assert "Identities in service by risk" in html and "?risk=medium&amp;sort=-risk" in html
