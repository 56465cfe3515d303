"""Stopping trust in a compromised workload platform: a trust domain or a federated issuer's
tokens are refused at once, every credential naming it is disabled with its tokens revoked,
and trusting it again enables nothing by itself."""

import uuid

import pytest
from django.core.exceptions import ValidationError

from nhiportal.audit.models import AuditEvent
from tokens.credentials import credential_add_federated, credential_add_spiffe, credential_disable
from tokens.distrust import trust_end, trust_ended_notify, trust_restore
from tokens.federation import federated_issuer_create
from tokens.models import FederatedIssuer, IssuedToken, TrustDomain, WorkloadCredential
from tokens.trust_bundles import trust_bundles_refresh

from .conftest import new_private_key, public_jwk
from .test_api import api
from .test_federation import SUBJECT, issuer, pipeline, platform_key, workload_token  # noqa: F401  (fixtures)
from .test_spiffe import SPIFFE_ID, bundle_key, request_with, svid, svid_agent, trust_domain  # noqa: F401  (fixtures)


def test_stopping_trust_in_an_issuer_disables_its_credentials_and_refuses_its_tokens(oauth, sam, alice, pipeline, platform_key, issuer, make_identity):
    assert request_with(oauth, workload_token(platform_key, jti=uuid.uuid4().hex)).status_code == 200
    held = trust_end(actor=sam, holder=issuer, reason="The CI provider's signing key leaked.")
    assert (held.credentials_disabled, held.tokens_revoked) == (1, 1)
    credential = WorkloadCredential.objects.get(identity=pipeline)
    assert not credential.enabled and "no longer trusted" in credential.disable_reason
    assert IssuedToken.objects.get().revoked_at is not None
    assert request_with(oauth, workload_token(platform_key, jti=uuid.uuid4().hex)).status_code == 401
    event = AuditEvent.objects.get(action="federated_issuer.distrust")
    assert event.after == {"trusted": False, "credentials_disabled": 1, "tokens_revoked": 1} and event.reason.startswith("The CI")
    assert AuditEvent.objects.filter(action="credential.disable").count() == 1
    with pytest.raises(ValidationError, match="no longer trusted"):
        credential_add_federated(actor=alice, identity=make_identity(alice, credential=False), federated_issuer=issuer, subject="repo:x")
    with pytest.raises(ValidationError, match="not trusted already"):
        trust_end(actor=sam, holder=issuer, reason="again")


def test_trusting_it_again_lets_owners_add_credentials_and_enables_none(sam, alice, pipeline, issuer, make_identity):
    trust_end(actor=sam, holder=issuer, reason="Investigating.")
    trust_restore(actor=sam, holder=FederatedIssuer.objects.get(pk=issuer.pk), reason="The provider rotated its keys.")
    assert not WorkloadCredential.objects.get(identity=pipeline).enabled
    credential_add_federated(actor=alice, identity=make_identity(alice, credential=False), federated_issuer=issuer, subject="repo:acme/other:ref:refs/heads/main")
    assert AuditEvent.objects.filter(action="federated_issuer.trust").count() == 1
    with pytest.raises(ValidationError):
        trust_restore(actor=sam, holder=issuer, reason="")


def test_stopping_trust_in_a_trust_domain_refuses_its_svids(oauth, sam, alice, svid_agent, bundle_key, trust_domain, make_identity):
    assert request_with(oauth, svid(bundle_key, jti=uuid.uuid4().hex)).status_code == 200
    trust_end(actor=sam, holder=trust_domain, reason="The SPIRE server was breached.")
    assert request_with(oauth, svid(bundle_key, jti=uuid.uuid4().hex)).status_code == 401
    assert not WorkloadCredential.objects.get(identity=svid_agent).enabled
    with pytest.raises(ValidationError, match="no longer trusted"):
        credential_add_spiffe(actor=alice, identity=make_identity(alice, credential=False), spiffe_id="spiffe://prod.example.com/other")


def test_the_sweep_does_not_fetch_the_keys_of_a_platform_no_longer_trusted(sam):
    issuer = federated_issuer_create(
        actor=sam, name="Cluster", issuer="https://k8s.example.com", jwks={"keys": [public_jwk(new_private_key(), kid="c1")]},
        bundle_endpoint="http://127.0.0.1:9/jwks",
    )
    trust_end(actor=sam, holder=issuer, reason="Cluster decommissioned after a breach.")
    assert trust_bundles_refresh(actor=None) == {"changed": 0, "unchanged": 0, "failed": 0}


def test_the_page_shows_what_it_disables_and_asks_why(client_for, sam, pipeline, issuer):
    client = client_for(sam)
    page = client.get(f"/federated-issuers/{issuer.pk}/trust/")
    assert page.status_code == 200 and pipeline.name.encode() in page.content and SUBJECT.encode() in page.content
    no_reason = client.post(f"/federated-issuers/{issuer.pk}/trust/", {"reason": ""})
    assert no_reason.status_code == 400 and b"This field is required" in no_reason.content
    assert FederatedIssuer.objects.get(pk=issuer.pk).distrusted_at is None
    done = client.post(f"/federated-issuers/{issuer.pk}/trust/", {"reason": "Leaked key."}, follow=True)
    assert b"Stopped trusting GitHub Actions: 1 credential disabled, 0 tokens revoked." in done.content
    assert b"not trusted" in client.get("/federated-issuers/").content
    again = client.post(f"/federated-issuers/{issuer.pk}/trust/", {"reason": "Rotated."}, follow=True)
    assert b"is trusted again" in again.content and FederatedIssuer.objects.get(pk=issuer.pk).distrusted_at is None


def test_a_trust_domain_has_the_same_page(client_for, sam, svid_agent, trust_domain):
    client = client_for(sam)
    assert SPIFFE_ID.encode() in client.get(f"/trust-domains/{trust_domain.pk}/trust/").content
    assert client.post(f"/trust-domains/{trust_domain.pk}/trust/", {"reason": "Breach."}).status_code == 302
    assert TrustDomain.objects.get(pk=trust_domain.pk).distrusted_at is not None


@pytest.mark.parametrize("person", ["alice", "charlie", "rita", "carol"])
def test_only_security_admins_stop_trusting(request, client_for, person, issuer, trust_domain, pipeline):
    user = request.getfixturevalue(person)
    client, call = client_for(user), api(client_for, user)
    for url in (f"/federated-issuers/{issuer.pk}/trust/", f"/trust-domains/{trust_domain.pk}/trust/"):
        response = client.get(url)
        assert response.status_code == 403 and pipeline.name.encode() not in response.content
        assert client.post(url, {"reason": "x"}).status_code == 403
    assert call("post", f"federated-issuers/{issuer.pk}/distrust/", {"reason": "x"}).status_code == 403
    assert call("post", f"trust-domains/{trust_domain.pk}/distrust/", {"reason": "x"}).status_code == 403
    assert not FederatedIssuer.objects.exclude(distrusted_at=None).exists() and not TrustDomain.objects.exclude(distrusted_at=None).exists()
    assert WorkloadCredential.objects.get(identity=pipeline).enabled


def test_the_api_stops_and_restores_trust(client_for, sam, pipeline, issuer):
    call = api(client_for, sam)
    assert call("post", f"federated-issuers/{issuer.pk}/distrust/", {}).status_code == 400
    stopped = call("post", f"federated-issuers/{issuer.pk}/distrust/", {"reason": "Leaked key."})
    assert stopped.status_code == 200, stopped.content
    assert stopped.json()["credentials_disabled"] == 1 and stopped.json()["distrust_reason"] == "Leaked key."
    twice = call("post", f"federated-issuers/{issuer.pk}/distrust/", {"reason": "Leaked key."})
    assert twice.status_code == 409 and "not trusted already" in twice.json()["detail"]
    restored = call("post", f"federated-issuers/{issuer.pk}/trust/", {"reason": "Rotated."})
    assert restored.status_code == 200 and restored.json()["distrusted_at"] is None


def test_the_owners_are_told_once_why_their_credentials_were_disabled(sam, alice, pipeline, issuer, mailoutbox):
    trust_end(actor=sam, holder=issuer, reason="The CI provider's signing key leaked.")
    assert trust_ended_notify(actor=None) == {"credentials": 1, "people": 1}
    (mail,) = mailoutbox
    assert mail.to == [alice.email] and "no longer trusted" in mail.subject
    assert pipeline.name in mail.body and "The CI provider's signing key leaked." in mail.body
    assert f"/identities/{pipeline.pk}/#credentials" in mail.body
    assert trust_ended_notify(actor=None) == {"credentials": 0, "people": 0}
    assert AuditEvent.objects.filter(action="credentials.notify_trust_ended").count() == 1


def test_credentials_disabled_by_hand_before_trust_ended_are_not_announced(sam, alice, pipeline, issuer, mailoutbox):
    credential_disable(actor=alice, credential=WorkloadCredential.objects.get(identity=pipeline), reason="Moved to a key.")
    trust_end(actor=sam, holder=issuer, reason="Breach.")
    assert trust_ended_notify(actor=None) == {"credentials": 0, "people": 0} and not mailoutbox
