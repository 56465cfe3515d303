"""A platform's token (GitHub Actions, a cluster's) that an agent signs in with leaks, into a
build log say: whoever finds it reports it, the portal never accepts it again and revokes what
its credential obtained since the platform issued it. The issuers are the loopback ones of
test_federation."""

import io
import uuid
from datetime import timedelta

import jwt
import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from inventory.services import identity_activate
from tokens.credentials import credential_add_federated, credential_disable
from tokens.federation import federated_issuer_update
from tokens.models import Exposure, IssuedToken, UsedAssertion, WorkloadCredential

from .conftest import new_private_key
from .test_federation import SUBJECT, issuer, pipeline, platform_key, workload_token  # noqa: F401 (fixtures)
from .test_spiffe import request_with

REPORT = "/exposures/report/"


@pytest.fixture
def reusable(sam, issuer):  # noqa: F811
    """A cluster's projected service-account token: presented again and again until it expires."""
    return federated_issuer_update(
        actor=sam, federated_issuer=issuer, name=issuer.name, audience="", jwks=issuer.jwks, max_age=3600, reusable=True,
    )


def test_a_leaked_platform_token_is_never_accepted_again_and_what_it_got_is_revoked(
    client_for, oauth, charlie, pipeline, platform_key, reusable,  # noqa: F811
):
    leaked = workload_token(platform_key, lifetime=3600)
    assert [request_with(oauth, leaked).status_code for _ in range(2)] == [200, 200]
    response = client_for(charlie).post(REPORT, {"token": leaked, "where_found": "build log #77"}, follow=True)
    assert response.status_code == 200
    assert b"Shut out: the portal will not accept that platform token again. 2 tokens it obtained revoked." in response.content
    assert pipeline.name.encode() not in response.content and leaked.encode() not in response.content
    assert IssuedToken.objects.filter(revoked_at__isnull=True).count() == 0
    refused = request_with(oauth, leaked)
    assert refused.status_code == 401 and "reported leaked" in refused.json()["error_description"]
    exposure = Exposure.objects.get()
    assert (exposure.kind, exposure.credential.subject, exposure.was_live, exposure.tokens_revoked) == ("platform", SUBJECT, True, 2)
    event = AuditEvent.objects.get(action="exposure.report")
    assert leaked not in str(event.after) and event.after["kind"] == "platform"
    # The credential stays: the pipeline's next job signs in with its next token.
    assert WorkloadCredential.objects.get(identity=pipeline).enabled
    assert request_with(oauth, workload_token(platform_key, lifetime=3600, jti=uuid.uuid4().hex)).status_code == 200


def test_a_platform_token_reported_before_its_job_used_it_is_refused(client_for, oauth, alice, pipeline, platform_key):  # noqa: F811
    leaked = workload_token(platform_key, jti=uuid.uuid4().hex)
    response = client_for(alice).post(REPORT, {"token": leaked, "where_found": "a screenshot in #ops"}, follow=True)
    assert b"Shut out: the portal will not accept that platform token again. The owners see the report." in response.content
    assert request_with(oauth, leaked).status_code == 401
    assert not IssuedToken.objects.exists() and Exposure.objects.get().token_jti == jwt.decode(leaked, options={"verify_signature": False})["jti"]


def test_tokens_its_credential_got_before_the_leaked_token_was_issued_stay(client_for, oauth, alice, pipeline, platform_key):  # noqa: F811
    assert request_with(oauth, workload_token(platform_key, jti=uuid.uuid4().hex)).status_code == 200
    earlier = IssuedToken.objects.get()
    IssuedToken.objects.filter(pk=earlier.pk).update(issued_at=timezone.now() - timedelta(minutes=4))
    leaked = workload_token(platform_key, jti=uuid.uuid4().hex)
    assert request_with(oauth, leaked).status_code == 200
    client_for(alice).post(REPORT, {"token": leaked, "where_found": "build log #78"})
    assert IssuedToken.objects.get(pk=earlier.pk).revoked_at is None
    assert IssuedToken.objects.exclude(pk=earlier.pk).get().revoked_at is not None


def test_the_other_jobs_under_a_wildcard_subject_keep_their_tokens(client_for, oauth, alice, sam, platform_key, issuer, make_identity, crm, grant):  # noqa: F811
    builds = make_identity(alice, credential=False)
    credential_add_federated(actor=alice, identity=builds, federated_issuer=issuer, subject="repo:acme/agents:*")
    grant(identity_activate(actor=alice, identity=builds), crm, ["tickets:read"])
    main_job = workload_token(platform_key, sub="repo:acme/agents:ref:refs/heads/main", jti=uuid.uuid4().hex, lifetime=3600)
    other_job = workload_token(platform_key, sub="repo:acme/agents:ref:refs/heads/dev", jti=uuid.uuid4().hex, lifetime=3600)
    assert request_with(oauth, other_job).status_code == 200
    leaked_got = request_with(oauth, main_job).json()["access_token"]
    held = jwt.decode(leaked_got, options={"verify_signature": False})["jti"]
    response = client_for(alice).post(REPORT, {"token": main_job, "where_found": "build log #83"}, follow=True)
    assert b"1 token it obtained revoked" in response.content
    assert IssuedToken.objects.get(jti=held).revoked_at is not None
    assert IssuedToken.objects.exclude(jti=held).get().revoked_at is None
    assert Exposure.objects.get().tokens_revoked == 1


def test_tokens_from_before_the_ledger_named_their_platform_token_go_by_its_window(client_for, oauth, alice, pipeline, platform_key):  # noqa: F811
    leaked = workload_token(platform_key, jti=uuid.uuid4().hex)
    assert request_with(oauth, workload_token(platform_key, jti=uuid.uuid4().hex)).status_code == 200
    IssuedToken.objects.update(platform_token_key="")  # as a row written before the upgrade
    client_for(alice).post(REPORT, {"token": leaked, "where_found": "build log #84"})
    assert IssuedToken.objects.get().revoked_at is not None


def test_an_expired_platform_token_is_recorded_as_no_longer_working(client_for, alice, pipeline, platform_key):  # noqa: F811
    response = client_for(alice).post(
        REPORT, {"token": workload_token(platform_key, lifetime=-120, jti=uuid.uuid4().hex), "where_found": "an old ticket"}, follow=True,
    )
    assert b"Recorded. That platform token no longer worked here" in response.content
    assert not Exposure.objects.get().was_live and not UsedAssertion.objects.exists()


def test_a_second_report_of_the_same_platform_token_finds_it_shut_out(client_for, alice, pipeline, platform_key):  # noqa: F811
    leaked = workload_token(platform_key, jti=uuid.uuid4().hex)
    for where in ("build log #79", "the same log, mirrored"):
        assert client_for(alice).post(REPORT, {"token": leaked, "where_found": where}).status_code == 302
    assert [e.was_live for e in Exposure.objects.order_by("pk")] == [True, False]
    assert UsedAssertion.objects.count() == 1


def test_a_platform_token_of_a_disabled_credential_is_still_shut_out(client_for, oauth, alice, pipeline, platform_key):  # noqa: F811
    credential_disable(actor=alice, credential=WorkloadCredential.objects.get(identity=pipeline))
    leaked = workload_token(platform_key, jti=uuid.uuid4().hex)
    client_for(alice).post(REPORT, {"token": leaked, "where_found": "build log #80"})
    exposure = Exposure.objects.get()
    assert not exposure.was_live and UsedAssertion.objects.count() == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda key: workload_token(new_private_key(), jti=uuid.uuid4().hex),
        lambda key: workload_token(key, sub="repo:acme/other:environment:production", jti=uuid.uuid4().hex),
        lambda key: workload_token(key, iss="https://unregistered.example.com", jti=uuid.uuid4().hex),
        lambda key: workload_token(key, kid="gh-unknown", jti=uuid.uuid4().hex),
    ],
    ids=["forged signature", "subject no identity trusts", "unregistered issuer", "unknown kid"],
)
def test_a_token_no_registered_platform_signed_for_an_identity_is_a_form_error(client_for, charlie, pipeline, platform_key, make):  # noqa: F811
    token = make(platform_key)
    response = client_for(charlie).post(REPORT, {"token": token, "where_found": "pastebin"})
    assert response.status_code == 400 and b"nor a platform&#x27;s token for one of its identities" in response.content
    assert token.encode() not in response.content
    assert not Exposure.objects.exists() and not UsedAssertion.objects.exists()


def test_the_api_reports_a_platform_token_and_names_no_identity(client_for, oauth, charlie, pipeline, platform_key):  # noqa: F811
    leaked = workload_token(platform_key, jti=uuid.uuid4().hex)
    response = client_for(charlie).post("/api/v1/exposures/", {"token": leaked, "where_found": "CI artifact"}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json() == {"tokens_revoked": 0, "was_live": True, "personal_api_token": False, "kind": "platform"}
    assert request_with(oauth, leaked).status_code == 401


def test_only_those_who_may_see_the_identity_read_the_report(client_for, alice, charlie, pipeline, platform_key):  # noqa: F811
    client_for(charlie).post(REPORT, {"token": workload_token(platform_key, jti=uuid.uuid4().hex), "where_found": "build log #81"})
    exposure = Exposure.objects.get()
    page = client_for(alice).get(f"/exposures/{exposure.pk}/")
    assert page.status_code == 200 and b"Platform token (federated)" in page.content and SUBJECT.encode() in page.content
    assert b"GitHub Actions" in page.content
    assert client_for(charlie).get(f"/exposures/{exposure.pk}/").status_code == 404
    assert client_for(charlie).get(f"/api/v1/exposures/{exposure.pk}/").status_code == 404
    assert SUBJECT.encode() not in client_for(charlie).get("/exposures/").content


def test_the_owners_mail_names_the_leaked_tokens_subject(client_for, charlie, pipeline, platform_key):  # noqa: F811
    client_for(charlie).post(REPORT, {"token": workload_token(platform_key, jti=uuid.uuid4().hex), "where_found": "build log #82"})
    call_command("notify_exposures", stdout=io.StringIO())
    [message] = mail.outbox
    assert message.to == ["alice@example.com"] and f"a token its platform issued for {SUBJECT}" in message.body


def test_a_leaked_platform_token_expiring_at_the_end_of_the_calendar_is_shut_out(client_for, oauth, alice, pipeline, platform_key):  # noqa: F811
    leaked = workload_token(platform_key, jti=uuid.uuid4().hex, exp=253_402_300_799)  # 9999-12-31T23:59:59Z
    response = client_for(alice).post("/api/v1/exposures/", {"token": leaked, "where_found": "build log #99"}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert UsedAssertion.objects.get().expires_at.year == 9999
    assert request_with(oauth, leaked).status_code == 401
