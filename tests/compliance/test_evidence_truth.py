"""What an auditor relies on: a control passes only on evidence, fails on what the services
missed, and every export says what the page says.

Where the portal prevents a failure, the test breaks the data behind its back, as
test_evidence.py does: the evidence must notice what the services did not do.
"""

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from inventory.models import AIIdentity
from inventory.services import identity_offboard
from nhiportal.audit.models import AuditEvent
from nhiportal.compliance.controls import CONTROLS, control_get
from nhiportal.compliance.models import ComplianceSnapshot
from tests.tokens.conftest import new_private_key, public_jwk, token_request
from tokens.credentials import credential_add_federated, credential_disable
from tokens.federation import federated_issuer_create
from tokens.models import Grant, IssuedToken, WorkloadCredential
from tokens.services import grant_revoke

from .conftest import check

pytestmark = pytest.mark.django_db

URLS = [
    "/compliance/", "/compliance/frameworks/", "/compliance/controls/owned/", "/compliance/export.csv",
    "/compliance/export.json", "/compliance/export.oscal.json", "/compliance/history.csv", "/compliance/evidence-pack.zip",
]


def page_statuses(client) -> dict:
    """Each control's status as the overview page shows it (the badge after its number)."""
    page = client.get("/compliance/").content.decode()
    return dict(re.findall(r'<span class="mono">(NHIP-\d\d)</span>.*?<span class="badge badge-(pass|warn|fail)">', page, re.S))


def export_statuses(client) -> dict:
    """Each control's status in the CSV, JSON and OSCAL exports and the API, per export."""
    rows = csv.DictReader(io.StringIO(client.get("/compliance/export.csv").content.decode()))
    oscal = {"satisfied": "pass", "fail": "fail", "other": "warn"}
    [result] = json.loads(client.get("/compliance/export.oscal.json").content)["assessment-results"]["results"]
    return {
        "csv": {row["control"]: row["status"] for row in rows},
        "json": {c["number"]: c["status"] for c in json.loads(client.get("/compliance/export.json").content)["controls"]},
        "api": {c["number"]: c["status"] for c in client.get("/api/v1/compliance/").json()["controls"]},
        "oscal": {
            f["target"]["target-id"]: oscal[f["target"]["status"]["state"] if f["target"]["status"]["state"] == "satisfied" else f["target"]["status"]["reason"]]
            for f in result["findings"]
        },
    }


def test_an_empty_portal_does_not_pass_a_control_on_the_page_or_in_any_export(client_for, carol):
    client = client_for(carol)
    shown = page_statuses(client)
    # Only the audit chain holds evidence: carol's own role assignment is an audited, verified event.
    assert shown == {c.number: "pass" if c.number == "NHIP-13" else shown[c.number] for c in CONTROLS}
    assert "pass" not in {status for number, status in shown.items() if number != "NHIP-13"}
    for export, statuses in export_statuses(client).items():
        assert statuses == shown, export
    detail = client.get("/compliance/controls/owned/").content.decode()
    assert "No evidence yet: no identity is in service" in detail and "the data shows this control working" not in detail


def test_an_empty_portal_fails_no_control_either(client_for, carol):
    """Nothing exists, so nothing is shown failing: a sweep never scheduled is listed for
    scheduling, but takes access from no identity yet."""
    shown = page_statuses(client_for(carol))
    assert "fail" not in shown.values(), shown
    sweep = check("governance-sweep")
    assert sweep.status == "warn" and sweep.summary.startswith("No evidence yet: no identity is in service")
    assert "the governance sweep has never run" in sweep.summary and sweep.findings_total == sweep.figures["steps"]


def test_an_empty_portal_does_not_pass_the_ownership_control(alice, make_identity):
    result = check("owned")
    assert result.status == "warn" and result.summary.startswith("No evidence yet:")
    make_identity(alice)
    assert check("owned").status == "pass"


def test_the_exports_say_what_the_page_says_when_controls_fail(client_for, carol, alice, agent, get_token):
    get_token(agent)
    AIIdentity.objects.filter(pk=agent.identity.pk).update(purpose="")  # an active identity undocumented: a fail
    client = client_for(carol)
    shown = page_statuses(client)
    assert shown["NHIP-02"] == "fail" and shown["NHIP-06"] == "pass" and set(shown) == {c.number for c in CONTROLS}
    for export, statuses in export_statuses(client).items():
        assert statuses == shown, export


def test_an_active_identity_without_an_attestation_due_date_fails_attestation(agent):
    assert check("attested").status == "pass"
    # The admin can clear the date; then nothing ever makes it overdue and the sweep never suspends it.
    AIIdentity.objects.filter(pk=agent.identity.pk).update(attestation_due=None)
    result = check("attested")
    assert result.status == "fail" and result.findings_total == 1
    assert result.findings[0].detail == "no attestation due date: never asked to attest"
    assert result.figures["no due date"] == 1 and "1 active with no attestation due date" in result.summary


def test_federated_subjects_of_two_identities_that_one_token_could_match_fail_reuse(sam, alice, make_identity):
    issuer = federated_issuer_create(
        actor=sam, name="Cluster", issuer="https://k8s.example.com", jwks={"keys": [public_jwk(new_private_key(), kid="k1")]}, max_age=900,
    )
    family = make_identity(alice, credential=False, name="batch-family")
    credential_add_federated(actor=alice, identity=family, federated_issuer=issuer, subject="system:serviceaccount:jobs:*")
    assert check("no-reuse").status == "pass"
    # The service refuses an overlapping subject; one loaded around it (or two at once) is not refused.
    other = make_identity(alice, credential=False, name="nightly-report")
    WorkloadCredential.objects.create(identity=other, kind="federated", federated_issuer=issuer, subject="system:serviceaccount:jobs:report")
    result = check("no-reuse")
    assert result.status == "fail" and {f.name for f in result.findings} == {"batch-family", "nightly-report"}
    assert "could match another identity's tokens" in result.findings[0].detail


def test_reuse_finds_overlapping_wildcards_in_one_query_however_many_job_families_there_are(
    sam, alice, make_identity, django_assert_max_num_queries,
):
    def issuer_named(name, url):
        return federated_issuer_create(actor=sam, name=name, issuer=url, jwks={"keys": [public_jwk(new_private_key(), kid="k1")]}, max_age=900)

    github, cluster = issuer_named("GitHub", "https://gh.example.com"), issuer_named("Cluster", "https://k8s.example.com")
    for n in range(30):  # families that never meet: each repository its own identity
        WorkloadCredential.objects.create(identity=make_identity(alice, credential=False, name=f"repo-{n}"), kind="federated",
                                          federated_issuer=github, subject=f"repo:acme/r{n}:*")
    mine = make_identity(alice, credential=False, name="deployer")
    for subject in ("repo:acme/deploy:*", "repo:acme/deploy:ref:refs/heads/main"):  # one identity's own overlap is no reuse
        WorkloadCredential.objects.create(identity=mine, kind="federated", federated_issuer=github, subject=subject)
    # The same subject under another issuer is another workload.
    WorkloadCredential.objects.create(identity=make_identity(alice, credential=False, name="k8s-deployer"), kind="federated",
                                      federated_issuer=cluster, subject="repo:acme/deploy:*")
    with django_assert_max_num_queries(12):
        assert check("no-reuse").status == "pass"
    # A narrower wildcard of another identity inside a family: one token could match both.
    WorkloadCredential.objects.create(identity=make_identity(alice, credential=False, name="release"), kind="federated",
                                      federated_issuer=github, subject="repo:acme/r1:ref:refs/tags/*")
    with django_assert_max_num_queries(12):
        result = check("no-reuse")
    assert result.status == "fail" and {f.name for f in result.findings} == {"repo-1", "release"}


def test_a_token_living_after_its_grant_was_revoked_fails_ending_access(sam, agent, crm, grant, oauth):
    kept = grant(agent, crm, ["tickets:read"])
    assert token_request(oauth, agent).status_code == 200
    grant_revoke(actor=sam, grant=kept, reason="Work moved elsewhere.")
    assert check("ending-access").status == "pass"  # the revocation took the token with it
    IssuedToken.objects.update(revoked_at=None)  # as if it had not
    result = check("ending-access")
    assert result.status == "fail" and result.figures["live after their grant ended"] == 1
    assert "no live grant covers tickets:read" in result.findings[0].detail
    # Another live grant covering the scope is what keeps such a token live by right.
    grant(agent, crm, ["tickets:read"])
    assert check("ending-access").status == "pass"


def test_tokens_kept_by_a_renewed_grant_pass_ending_access_without_a_query_each(
    sam, agent, crm, grant, oauth, django_assert_max_num_queries,
):
    old = grant(agent, crm, ["tickets:read"])
    for _ in range(15):
        assert token_request(oauth, agent).status_code == 200
    grant(agent, crm, ["tickets:read"])  # renewed: the new grant covers what the old one let out
    grant_revoke(actor=sam, grant=old, reason="Replaced by the renewal.")
    assert IssuedToken.objects.filter(revoked_at=None).count() == 15  # kept: still covered
    with django_assert_max_num_queries(12):
        assert check("ending-access").status == "pass"


def test_a_token_living_after_its_grant_ended_fails_ending_access(agent, crm, grant, oauth):
    held = grant(agent, crm, ["tickets:read"])
    assert token_request(oauth, agent).status_code == 200
    Grant.objects.filter(pk=held.pk).update(ends_at=timezone.now() - timedelta(minutes=1))
    IssuedToken.objects.update(expires_at=timezone.now() + timedelta(minutes=5))  # outlives the grant it was bounded by
    result = check("ending-access")
    assert result.status == "fail" and result.figures["live after their grant ended"] == 1


def test_a_token_living_after_its_credential_was_disabled_fails_ending_access(alice, agent, get_token):
    get_token(agent)
    credential_disable(actor=alice, credential=WorkloadCredential.objects.get(identity=agent.identity), reason="rotating")
    assert check("ending-access").status == "pass"
    IssuedToken.objects.update(revoked_at=None)
    result = check("ending-access")
    assert result.status == "fail" and "its credential was disabled" in result.findings[0].detail


def test_an_offboarded_identity_is_evidence_that_ending_access_works(alice, agent, get_token):
    get_token(agent)
    assert check("ending-access").status == "warn"  # nothing has ended yet
    identity_offboard(actor=alice, identity=AIIdentity.objects.get(pk=agent.identity.pk), reason="retired")
    result = check("ending-access")
    assert result.status == "pass" and result.figures["live tokens"] == 0


def test_an_old_grant_no_usage_run_has_judged_is_not_passed_as_used(agent, crm, grant):
    grant(agent, crm, ["tickets:read"], starts_at=timezone.now() - timedelta(days=40))
    result = check("unused-access")
    assert result.status == "warn" and result.figures["older than 30 days, never judged (is grant_usage running?)"] == 1
    assert "no grant_usage run has judged" in result.summary
    call_command("grant_usage", stdout=io.StringIO())
    assert check("unused-access").status == "warn"  # judged now: no token carried the scope
    assert "never judged" not in " ".join(check("unused-access").figures)


def test_key_rotation_has_nothing_to_show_without_credentials_and_passes_without_public_keys(sam, alice, make_identity):
    assert check("key-rotation").status == "warn"
    issuer = federated_issuer_create(
        actor=sam, name="CI", issuer="https://ci.example.com", jwks={"keys": [public_jwk(new_private_key(), kid="k1")]}, max_age=900,
    )
    credential_add_federated(actor=alice, identity=make_identity(alice, credential=False), federated_issuer=issuer, subject="repo:acme/agents")
    result = check("key-rotation")
    assert result.status == "pass" and result.summary.startswith("No enabled public key")


def test_csv_exports_defuse_cells_a_spreadsheet_would_run(client_for, carol, alice, make_identity):
    make_identity(alice)
    ComplianceSnapshot.objects.create(
        taken_by_label="tests", results={"owned": {"status": "pass", "exceptions": 0, "evidence": '=HYPERLINK("http://evil.example","x")'}},
    )
    rows = list(csv.DictReader(io.StringIO(client_for(carol).get("/compliance/history.csv").content.decode())))
    assert rows[0]["evidence"] == '\'=HYPERLINK("http://evil.example","x")'
    for row in csv.reader(io.StringIO(client_for(carol).get("/compliance/export.csv").content.decode())):
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), row


def test_timestamps_and_file_names_say_their_zone(client_for, carol, sam, charlie, agent, get_token):
    from tokens.exposures import exposure_report_token

    exposure_report_token(actor=charlie, token=get_token(agent)["access_token"], where_found="wiki")
    client = client_for(carol)
    stamp = r"\d{8}-\d{4}Z"
    for url, name in (("/compliance/export.csv", rf"nhi-compliance-{stamp}\.csv"), ("/compliance/export.json", rf"nhi-compliance-{stamp}\.json"),
                      ("/compliance/export.oscal.json", rf"nhi-compliance-{stamp}\.oscal\.json"),
                      ("/compliance/history.csv", rf"nhi-compliance-history-{stamp}\.csv")):
        assert re.fullmatch(rf'attachment; filename="{name}"', client.get(url)["Content-Disposition"]), url
    exported = json.loads(client.get("/compliance/export.json").content)
    assert exported["assessed_at"].endswith("+00:00")
    assert next(csv.DictReader(io.StringIO(client.get("/compliance/export.csv").content.decode())))["assessed_at"].endswith("+00:00")
    # A time inside the evidence text (here an exposure left unconfirmed) names its zone too.
    from tokens.models import Exposure

    Exposure.objects.update(contained_at=timezone.now() - timedelta(hours=30))
    exposure = next(c for c in json.loads(client.get("/compliance/export.json").content)["controls"] if c["number"] == "NHIP-12")
    assert re.search(r"reported \d{4}-\d\d-\d\d \d\d:\d\d UTC", exposure["exceptions"][0]["detail"])


@pytest.mark.django_db(transaction=True)
def test_the_evidence_pack_is_named_for_its_period_and_moment(client_for, carol):
    response = client_for(carol).get("/compliance/evidence-pack.zip", {"since": "2025-01-01"})
    assert re.fullmatch(r'attachment; filename="nhi-evidence-since-20250101-\d{8}-\d{4}Z\.zip"', response["Content-Disposition"])


@pytest.mark.parametrize("url", URLS + ["/compliance/controls/NHIP-01/"])
def test_compliance_staff_change_nothing_through_the_compliance_pages(client_for, carol, url):
    before = AuditEvent.objects.count()
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client_for(carol), method)(url).status_code == 405, method
    assert AuditEvent.objects.count() == before and not ComplianceSnapshot.objects.exists()


@pytest.mark.parametrize("url", URLS + ["/compliance/controls/no-such-control/", "/api/v1/compliance/", "/api/v1/compliance/oscal/"])
def test_an_outsider_gets_403_and_learns_nothing(client_for, charlie, alice, agent, url):
    response = client_for(charlie).get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    # Not 404 for an unknown control: an outsider cannot tell which controls exist.
    assert response.status_code == 403 and b"NHIP-" not in body and agent.identity.name.encode() not in body
    assert not AuditEvent.objects.filter(action="compliance.evidence_pack").exists()


def test_ending_access_does_not_claim_the_supply_chain_entry(client_for, carol):
    assert "GV.SC-10" not in control_get("ending-access").maps
    page = client_for(carol).get("/compliance/frameworks/").content.decode()
    row = re.search(r'<code class="entry">GV.SC-10</code>.*?</tr>', page, re.S).group(0)
    assert "outside the portal&#x27;s reach" in row or "outside the portal's reach" in row
