"""Responding to a reported exposure: the identity's owners are told (and the report keeps who),
and a security admin who confirms it suspends the identity, revoking what it still holds."""

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from inventory.models import Status
from inventory.services import TransitionRefused, identity_offboard, identity_reactivate, identity_suspend
from nhiportal.audit.models import AuditEvent
from nhiportal.people.models import PersonalAPIToken
from nhiportal.people.services import api_token_create, api_token_revoke
from tokens.exposures import exposure_report_credential, exposure_report_token
from tokens.models import Exposure, IssuedToken, Task, WorkloadCredential

from .test_token_exchange import unverified


@pytest.fixture
def reported(charlie, agent, get_token):
    """An exposure of one of agent's tokens, reported by someone who cannot see the agent; the
    agent holds another live token."""
    leaked = get_token(agent)["access_token"]
    still_held = get_token(agent)["access_token"]
    exposure = exposure_report_token(actor=charlie, token=leaked, where_found="CI log #4411")
    return exposure, unverified(still_held)["jti"]


def url(exposure) -> str:
    return f"/exposures/{exposure.pk}/"


def notify() -> str:
    out = StringIO()
    call_command("notify_exposures", stdout=out)
    return out.getvalue()


def test_a_security_admin_confirms_an_exposure_which_suspends_the_identity_until_a_security_admin_reactivates_it(
    client_for, sam, alice, agent, reported,
):
    exposure, still_held = reported
    response = client_for(sam).post(url(exposure), {"reason": "The log is public: the token was usable by anyone.", "decision": "confirm"}, follow=True)
    assert response.status_code == 200
    assert f"{agent.identity.name} is suspended until a security admin reactivates it.".encode() in response.content
    assert b"owners reactivate" not in response.content
    agent.identity.refresh_from_db()
    assert agent.identity.status == Status.SUSPENDED and "Confirmed exposure" in agent.identity.status_reason
    # As the page says: held, so its owners cannot reactivate it.
    with pytest.raises(TransitionRefused, match="only a security admin reactivates it"):
        identity_reactivate(actor=alice, identity=agent.identity)
    assert IssuedToken.objects.get(jti=still_held).revoked_at is not None
    exposure.refresh_from_db()
    assert exposure.status == "confirmed" and exposure.confirmed_by == sam
    assert AuditEvent.objects.filter(action="exposure.confirm", object_id=str(exposure.pk)).count() == 1
    assert AuditEvent.objects.filter(action="identity.suspend", object_id=str(agent.identity.pk)).count() == 1


def test_confirming_needs_a_reason_shown_next_to_the_field(client_for, sam, agent, reported):
    exposure, still_held = reported
    response = client_for(sam).post(url(exposure), {"reason": "  ", "decision": "confirm"})
    assert response.status_code == 400 and b"This field is required" in response.content
    agent.identity.refresh_from_db()
    assert agent.identity.status == Status.ACTIVE and IssuedToken.objects.get(jti=still_held).revoked_at is None
    assert Exposure.objects.get().confirmed_at is None


def test_an_exposure_is_confirmed_once(client_for, sam, reported):
    exposure, _ = reported
    client_for(sam).post(url(exposure), {"reason": "real", "decision": "confirm"})
    again = client_for(sam).post(url(exposure), {"reason": "again", "decision": "confirm"})
    assert again.status_code == 400
    assert AuditEvent.objects.filter(action="exposure.confirm").count() == 1 and Exposure.objects.get().confirm_reason == "real"


def test_confirming_the_exposure_of_an_offboarded_identity_only_records_it(client_for, sam, alice, agent, reported):
    exposure, _ = reported
    identity_offboard(actor=alice, identity=agent.identity, reason="retired")
    response = client_for(sam).post(url(exposure), {"reason": "real", "decision": "confirm"}, follow=True)
    assert response.status_code == 200 and b"is suspended" not in response.content
    agent.identity.refresh_from_db()
    assert agent.identity.status == Status.OFFBOARDED and Exposure.objects.get().status == "confirmed"


def test_only_security_admins_confirm_and_outsiders_learn_nothing(client_for, alice, rita, carol, charlie, agent, reported):
    exposure, _ = reported
    assert client_for(charlie).get(url(exposure)).status_code == 404
    assert client_for(charlie).post(url(exposure), {"reason": "x", "decision": "confirm"}).status_code == 404
    for person in (alice, rita, carol):
        page = client_for(person).get(url(exposure))
        assert page.status_code == 200 and b"CI log #4411" in page.content and b"Confirm and suspend" not in page.content
        assert client_for(person).post(url(exposure), {"reason": "x", "decision": "confirm"}).status_code == 403
    agent.identity.refresh_from_db()
    assert agent.identity.status == Status.ACTIVE and Exposure.objects.get().confirmed_at is None
    assert client_for(charlie).get("/exposures/999999/").status_code == 404


def test_the_owners_are_told_once_and_the_report_keeps_who(client_for, alice, bob, agent, reported, settings):
    exposure, _ = reported
    settings.NHI = {**settings.NHI, "ISSUER": "https://nhi.example.com"}
    assert "Told the owners of 1 exposure(s): 1 email(s)" in notify()
    [message] = mail.outbox
    assert message.to == ["alice@example.com"] and agent.identity.name in message.subject
    assert "CI log #4411" in message.body and f"https://nhi.example.com/exposures/{exposure.pk}/" in message.body
    exposure.refresh_from_db()
    assert exposure.owners_told == ["alice"] and exposure.told_at is not None
    assert "Told the owners of 0 exposure(s)" in notify() and len(mail.outbox) == 1
    assert AuditEvent.objects.filter(action="exposure.notify").count() == 1
    page = client_for(alice).get(url(exposure))
    assert b"alice" in page.content and b"not yet" not in page.content


def test_when_the_mail_server_is_down_nobody_is_marked_told_and_the_next_run_retries(reported, settings):
    settings.EMAIL_BACKEND = "tests.tokens.test_notify_approvals.RefusingBackend"
    with pytest.raises(ConnectionRefusedError):
        notify()
    exposure = Exposure.objects.get()
    assert exposure.told_at is None and exposure.owners_told == []
    assert AuditEvent.objects.filter(action="exposure.notify_failed").count() == 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "Told the owners of 1 exposure(s)" in notify() and len(mail.outbox) == 1


def test_the_api_reads_one_exposure_and_confirms_it(client_for, alice, sam, charlie, agent, reported):
    exposure, _ = reported
    api = f"/api/v1/exposures/{exposure.pk}/"
    assert client_for(charlie).get(api).status_code == 404
    assert client_for(alice).get(api).json()["status"] == "reported"
    assert client_for(alice).get("/api/v1/exposures/not-a-number/").status_code == 404
    assert client_for(alice).post(f"{api}confirm/", {"reason": "x"}, content_type="application/json").status_code == 403
    bad = client_for(sam).post(f"{api}confirm/", {}, content_type="application/json")
    assert bad.status_code == 400 and "reason" in bad.json()
    done = client_for(sam).post(f"{api}confirm/", {"reason": "public log"}, content_type="application/json")
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "confirmed" and body["confirmed_by"] == "sam" and body["confirm_reason"] == "public log"
    agent.identity.refresh_from_db()
    assert agent.identity.status == Status.SUSPENDED


def test_the_identity_page_lists_its_reported_leaks_for_those_who_see_it(client_for, alice, charlie, agent, reported):
    exposure, _ = reported
    panel = client_for(alice).get(f"/identities/{agent.identity.pk}/credentials-panel/")
    assert b"Reported leaks" in panel.content and f'href="/exposures/{exposure.pk}/"'.encode() in panel.content
    assert client_for(charlie).get(f"/identities/{agent.identity.pk}/credentials-panel/").status_code == 404


def test_a_security_admin_dismisses_a_false_alarm_without_suspending(client_for, sam, agent, reported):
    exposure, still_held = reported
    page = client_for(sam).get(url(exposure)).content.decode()
    assert "Dismiss: no suspension needed" in page
    response = client_for(sam).post(url(exposure), {"reason": "A test token from the sandbox copy.", "decision": "dismiss"}, follow=True)
    assert response.status_code == 200 and b"Dismissed: no suspension." in response.content
    agent.identity.refresh_from_db()
    assert agent.identity.status == Status.ACTIVE and IssuedToken.objects.get(jti=still_held).revoked_at is None
    exposure.refresh_from_db()
    assert exposure.status == "dismissed" and exposure.dismissed_by == sam
    assert IssuedToken.objects.get(jti=exposure.token_jti).revoked_at is not None  # what was leaked stays revoked
    assert AuditEvent.objects.filter(action="exposure.dismiss", object_id=str(exposure.pk)).count() == 1
    # Closed: neither confirmed nor dismissed again.
    assert client_for(sam).post(url(exposure), {"reason": "real after all", "decision": "confirm"}).status_code == 400
    assert client_for(sam).post(url(exposure), {"reason": "again", "decision": "dismiss"}).status_code == 400
    assert AuditEvent.objects.filter(action__in=["exposure.confirm", "exposure.dismiss"]).count() == 1


def test_dismissing_needs_a_reason_and_a_security_admin(client_for, alice, rita, charlie, sam, reported):
    exposure, _ = reported
    assert client_for(sam).post(url(exposure), {"reason": " ", "decision": "dismiss"}).status_code == 400
    for person in (alice, rita):
        assert client_for(person).post(url(exposure), {"reason": "x", "decision": "dismiss"}).status_code == 403
    assert client_for(charlie).post(url(exposure), {"reason": "x", "decision": "dismiss"}).status_code == 404
    assert Exposure.objects.get().status == "reported"


def test_the_api_dismisses_and_the_list_filters_by_state(client_for, alice, sam, agent, reported):
    exposure, _ = reported
    api = f"/api/v1/exposures/{exposure.pk}/dismiss/"
    assert client_for(alice).post(api, {"reason": "x"}, content_type="application/json").status_code == 403
    done = client_for(sam).post(api, {"reason": "Key was rotated before the report."}, content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == "dismissed" and done.json()["dismissed_by"] == "sam"
    listed = {state: client_for(sam).get(f"/exposures/?state={state}").context["exposures"] for state in ("open", "dismissed", "confirmed")}
    assert [len(listed[s]) for s in ("open", "dismissed", "confirmed")] == [0, 1, 0]


def test_a_post_that_names_no_decision_confirms_nothing(client_for, sam, agent, reported):
    exposure, _ = reported
    for decision in (None, "maybe"):
        data = {"reason": "real"} | ({"decision": decision} if decision else {})
        response = client_for(sam).post(url(exposure), data)
        assert response.status_code == 400 and "Choose to confirm the exposure or to dismiss it." in response.content.decode()
    agent.identity.refresh_from_db()
    assert agent.identity.status == Status.ACTIVE and Exposure.objects.get().status == "reported"


def test_the_holder_of_a_leaked_api_token_hears_once_where_it_was_found(client_for, charlie, alice, settings):

    token, raw = api_token_create(user=alice, name="ci pipeline", days=30)
    client_for(charlie).post("/exposures/report/", {"token": raw, "where_found": "build log of job 4411"})
    assert "the holders of 1 leaked API token(s)" in notify()
    (message,) = mail.outbox
    assert message.to == ["alice@example.com"] and "ci pipeline" in message.subject
    assert "build log of job 4411" in message.body and raw not in message.body and "/accounts/tokens/" in message.body
    assert PersonalAPIToken.objects.get(pk=token.pk).holder_told_at is not None
    assert "the holders of 0 leaked API token(s)" in notify() and len(mail.outbox) == 1
    # A token revoked by its holder, not as leaked, is no news to anyone.
    other, _ = api_token_create(user=alice, name="old", days=30)
    api_token_revoke(token=other, actor=alice)
    assert "the holders of 0 leaked" in notify()


def test_a_line_break_in_a_tokens_name_does_not_stop_its_holders_mail(client_for, charlie, alice):
    """A name goes into the subject: a line break there would be refused as a header (and the
    mail never sent, run after run), a right-to-left override would reorder what follows.
    Names refuse both now (nhiportal/names.py); this one is from before that rule."""
    token, raw = api_token_create(user=alice, name="ci", days=30)
    PersonalAPIToken.objects.filter(pk=token.pk).update(name="ci\nBcc: mallory@evil.example\u202e")
    client_for(charlie).post("/exposures/report/", {"token": raw, "where_found": "build log"})
    assert "the holders of 1 leaked API token(s)" in notify()
    (message,) = mail.outbox
    assert message.subject == "[NHI Portal] Your API token “ci Bcc: mallory@evil.example ” leaked and was revoked"
    assert message.recipients() == ["alice@example.com"] and "Bcc" not in message.message()
    assert PersonalAPIToken.objects.get(pk=token.pk).holder_told_at is not None


def test_if_mail_fails_the_holder_is_told_on_the_next_run(client_for, charlie, alice, settings):

    token, raw = api_token_create(user=alice, name="notebook", days=30)
    client_for(charlie).post("/exposures/report/", {"token": raw, "where_found": "a shared notebook"})
    settings.EMAIL_BACKEND = "tests.tokens.test_notify_approvals.RefusingBackend"
    with pytest.raises(ConnectionRefusedError):
        notify()
    assert PersonalAPIToken.objects.get(pk=token.pk).holder_told_at is None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "the holders of 1 leaked" in notify()


def test_confirming_holds_an_identity_its_owner_had_suspended(client_for, sam, alice, agent, reported):
    """Else the owner reactivates it minutes later and undoes the response."""
    exposure, _ = reported
    identity_suspend(actor=alice, identity=agent.identity, reason="Pausing it while we look.")
    before = client_for(sam).get(url(exposure)).content.decode()
    assert "confirming holds it, so its owners can no longer reactivate it" in before and ">Confirm and hold</button>" in before
    response = client_for(sam).post(url(exposure), {"reason": "The log is public.", "decision": "confirm"}, follow=True)
    html = response.content.decode()
    assert f"{agent.identity.name} was suspended already; now held, it stays suspended until a security admin reactivates it" in html
    assert "confirming held it, so only a security admin reactivates it, not its owners." in html
    agent.identity.refresh_from_db()
    assert agent.identity.status == Status.SUSPENDED and agent.identity.held_by_security_admin
    [event] = AuditEvent.objects.filter(action="exposure.confirm")
    assert event.after["holds_identity"] is True and event.after["suspends_identity"] is False
    assert event.before == {"identity_held": False, "identity_status_reason": "Pausing it while we look."}
    assert AuditEvent.objects.filter(action="identity.suspend").count() == 1  # the owner's only
    with pytest.raises(TransitionRefused, match="only a security admin reactivates it"):
        identity_reactivate(actor=alice, identity=agent.identity)
    identity_reactivate(actor=sam, identity=agent.identity, reason="Keys rotated.")
    agent.identity.refresh_from_db()
    assert agent.identity.status == Status.ACTIVE
    # What the page says confirming did stays true after the reactivation.
    assert "confirming held it" in client_for(alice).get(url(exposure)).content.decode()


def test_the_exposure_page_shows_what_confirming_took(client_for, sam, alice, agent, reported):
    exposure, still_held = reported
    open_tasks = Task.objects.filter(identity=agent.identity, ended_at__isnull=True).count()
    assert open_tasks >= 1
    response = client_for(sam).post(url(exposure), {"reason": "Public log.", "decision": "confirm"}, follow=True)
    html = response.content.decode()
    assert f"{agent.identity.name} is suspended until a security admin reactivates it. 1 token revoked, {open_tasks} open task" in html
    [event] = AuditEvent.objects.filter(action="exposure.confirm")
    assert event.after["tokens_revoked"] == 1 and event.after["tasks_ended"] == open_tasks and event.after["suspends_identity"] is True
    page = client_for(alice).get(url(exposure)).content.decode()
    assert f"Confirming suspended {agent.identity.name} (1 token revoked, {open_tasks} open task" in page
    did = page.split('aria-label="What confirming did"')[1].split("</dl>")[0]
    assert "<dt>Tokens revoked</dt><dd>1</dd>" in did and f"<dt>Tasks ended</dt><dd>{open_tasks}</dd>" in did


def test_the_response_says_nothing_was_suspended_for_an_offboarded_identity(client_for, sam, alice, agent, reported):
    exposure, _ = reported
    identity_offboard(actor=alice, identity=agent.identity, reason="retired")
    client_for(sam).post(url(exposure), {"reason": "real", "decision": "confirm"})
    page = client_for(alice).get(url(exposure)).content.decode()
    assert f"{agent.identity.name} was offboarded already: nothing was left to suspend." in page
    assert "suspends the identity until" not in page and 'aria-label="What confirming did"' not in page


def test_the_owners_mail_for_a_leaked_key_names_the_credential_and_says_it_is_disabled(alice, agent):
    credential = WorkloadCredential.objects.get(kid=agent.kid)
    WorkloadCredential.objects.filter(pk=credential.pk).update(label="ci-runner key")
    credential.refresh_from_db()
    exposure_report_credential(actor=alice, credential=credential, where_found="public gist")
    notify()
    [message] = mail.outbox
    assert "ci-runner key" in message.body and agent.kid not in message.body
    assert "The credential is disabled: the portal no longer accepts that key. Register a new key pair for the agent" in message.body
    assert "rotate the agent's key if it could be the key" not in message.body
