"""The token service's pages in a real browser: credentials, grants, tasks, keys."""

import json
import re
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from django.utils import timezone
from playwright.sync_api import Page, expect

from inventory.services import identity_activate
from tests.tokens.conftest import CRM, TASK, Agent, new_private_key, public_jwk, token_request
from tokens.credentials import credential_add_jwk
from tokens.exposures import exposure_report_token
from tokens.models import IssuedToken, WorkloadCredential
from tokens.services import grant_create, service_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def csp_watch(page: Page) -> list:
    blocked = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    return blocked


def test_an_owner_pastes_a_private_key_by_mistake_then_the_public_one(page, login, alice, make_identity):
    blocked = csp_watch(page)
    identity = make_identity(alice, credential=False)
    login(page, alice)
    page.goto(f"/identities/{identity.pk}/")
    expect(page.locator("#credentials")).to_contain_text("No workload credential")
    page.get_by_role("link", name="Add public key").click()

    key = ec.generate_private_key(ec.SECP256R1())
    page.fill("#id_jwk", ECAlgorithm.to_jwk(key))
    page.get_by_role("button", name="Add credential").click()
    expect(page.locator(".field.has-error")).to_contain_text("This is a private key")
    expect(page.locator("#id_jwk")).to_have_value("")
    assert not WorkloadCredential.objects.exists()

    page.fill("#id_jwk", ECAlgorithm.to_jwk(key.public_key()))
    page.fill("#id_label", "laptop")
    page.get_by_role("button", name="Add credential").click()
    expect(page.locator("#credentials")).to_contain_text("laptop")
    page.locator("#credentials").get_by_role("link", name="Disable…").click()
    # Its only credential: the confirmation says the agent would get no token at all.
    expect(page.locator("#last-credential")).to_contain_text("last enabled credential")
    page.get_by_role("button", name="Disable the credential").click()
    expect(page.locator(".msg-success")).to_contain_text("Disabled")
    expect(page.locator("#credentials")).to_contain_text("disabled")
    assert blocked == []


def test_a_security_admin_grants_and_the_owner_ends_the_agents_task(page, login, sam, alice, make_identity, client):
    blocked = csp_watch(page)
    key = new_private_key()
    identity = make_identity(alice, credential=False)
    credential = credential_add_jwk(actor=alice, identity=identity, jwk=public_jwk(key))
    agent = Agent(identity_activate(actor=alice, identity=identity), key, credential.kid)
    crm = service_create(actor=sam, name="CRM", audience=CRM, owner=sam, trust_boundary="corp-internal", scopes=["tickets:read"])
    login(page, sam)
    page.goto(f"/grants/new/?identity={agent.identity.pk}")
    page.select_option("#id_service", str(crm.pk))
    page.get_by_label("tickets:read").check()
    page.fill("#id_ends_at", "2099-01-01T00:00")
    page.fill("#id_justification", "Ticket triage pilot")
    page.get_by_role("button", name="Grant").click()
    expect(page.locator(".msg-success")).to_contain_text("Granted tickets:read on CRM")

    # The agent works: it gets a token for a task.
    response = token_request(client, agent, authorization_details=json.dumps(TASK))
    assert response.status_code == 200

    page.context.clear_cookies()
    login(page, alice)
    page.goto(f"/identities/{agent.identity.pk}/")
    access = page.locator("#access")
    expect(access).to_contain_text("Summarise open tickets")
    expect(access).to_contain_text(CRM)
    assert response.json()["access_token"] not in page.content()
    access.get_by_role("link", name="End task…").click()
    expect(page.get_by_role("region", name="What happens")).to_contain_text("1 live token is revoked")
    page.get_by_role("button", name="End the task").click()
    expect(page.locator(".msg-success")).to_contain_text("Ended the task; 1 token revoked")
    expect(page.locator("#access")).to_contain_text("by alice")
    expect(page.locator("#access")).to_be_in_viewport()  # back where the owner was, not at the top of a long page
    assert IssuedToken.objects.get().revoked_at is not None
    assert blocked == []


def test_a_security_admin_rotates_the_signing_keys(page, login, sam, db):
    login(page, sam)
    page.goto("/keys/")
    expect(page.locator("main")).to_contain_text("No signing keys yet")
    page.get_by_role("button", name="Rotate now").click()
    expect(page.locator(".msg-success")).to_contain_text("Rotated")
    expect(page.locator("table .badge-active")).to_have_count(1)
    expect(page.locator("table .badge-next")).to_have_count(1)


def test_a_security_admin_reports_the_signing_key_compromised_then_revokes_everything(page, login, sam, db):
    from tokens.keys import active_signer

    kid = active_signer().kid
    login(page, sam)
    page.goto("/keys/")
    page.get_by_role("row").filter(has=page.locator(f'code[title="{kid}"]')).get_by_role("link", name="Compromised…").click()
    page.get_by_role("button", name="Retire it and revoke its tokens").click()
    expect(page.locator("main")).to_contain_text("This field is required.")  # the reason and the kid are asked for
    page.get_by_label("Reason").fill("Key file found in a public bucket")
    page.get_by_label("Type the key's kid to confirm").fill(kid)
    page.get_by_role("button", name="Retire it and revoke its tokens").click()
    expect(page.locator(".msg-success")).to_contain_text("is no longer published")
    reported = page.get_by_role("row").filter(has=page.locator(f'code[title="{kid}"]'))
    expect(reported.locator(".badge-bad")).to_have_text("compromised")  # told apart from a key retired in turn
    expect(reported).to_contain_text("by sam: Key file found in a public bucket")
    expect(page.locator("table .badge-active")).to_have_count(1)  # the published next key signs, and a fresh next is published
    expect(page.locator("table .badge-next")).to_have_count(1)
    page.get_by_role("link", name="revoke every live token").click()
    page.get_by_label("Service").select_option(label="Every service")  # chosen, never preselected
    page.get_by_label("Reason").fill("Incident 42: distrust every token")
    page.get_by_label("Type the confirmation").fill("REVOKE ALL")
    page.get_by_role("button", name="Revoke now").click()
    expect(page.locator(".msg-success")).to_contain_text("Revoked 0 live tokens for every service")


def test_a_reviewer_approves_an_autonomous_agents_task_and_the_agent_gets_its_token(page, login, sam, rita, alice, make_identity, client):
    blocked = csp_watch(page)
    key = new_private_key()
    identity = make_identity(alice, credential=False, name="exporter", autonomy="autonomous")
    credential = credential_add_jwk(actor=alice, identity=identity, jwk=public_jwk(key))
    agent = Agent(identity_activate(actor=alice, identity=identity), key, credential.kid)
    crm = service_create(
        actor=sam, name="CRM", audience=CRM, owner=sam, trust_boundary="corp-internal",
        scopes=[{"name": "customers:export", "consequential": True}],
    )
    grant_create(actor=sam, identity=agent.identity, service=crm, scopes=["customers:export"], ends_at=timezone.now() + timedelta(days=1), justification="pilot")
    asked = token_request(client, agent, scope="customers:export").json()
    assert asked["error"] == "authorization_pending"

    login(page, rita)
    page.get_by_role("link", name="Approvals").click()
    expect(page.locator("main")).to_contain_text("exporter")
    page.get_by_role("link", name=re.compile(r"\d{4}-\d\d-\d\d")).first.click()
    expect(page.locator("main")).to_contain_text("consequential")
    page.fill("#id_approve-minutes", "0")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".field.has-error")).to_contain_text("greater than or equal to 1")
    page.fill("#id_approve-minutes", "20")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".msg-success")).to_contain_text("Approved the task until")
    expect(page.locator("main")).to_contain_text("Nothing waits for approval")

    granted = token_request(client, agent, scope="customers:export", task_id=asked["task_id"], authorization_details=None)
    assert granted.status_code == 200, granted.content
    assert blocked == []


def test_an_owner_lets_a_helper_act_for_the_agent_then_ends_it(page, login, alice, bob, make_identity):
    blocked = csp_watch(page)
    orchestrator = make_identity(alice, name="orchestrator")
    helper = make_identity(bob, name="helper")
    login(page, alice)
    page.goto(f"/identities/{orchestrator.pk}/")
    page.locator("#access").get_by_role("link", name="Let another identity act for it").click()
    page.fill("#id_delegate", str(orchestrator.pk))
    page.fill("#id_reason", "Triage helper")
    page.get_by_role("button", name="Let it act").click()
    expect(page.locator(".field.has-error")).to_contain_text("already acts for itself")
    page.fill("#id_delegate", str(helper.pk))
    page.fill("#id_reason", "Triage for the night shift")
    page.get_by_role("button", name="Let it act").click()
    # bob's helper is not alice's to see: she reads it by the client_id she typed, never its name.
    expect(page.locator(".msg-success")).to_contain_text(f"The identity {helper.pk} may now act for orchestrator")
    expect(page.locator("#access")).to_contain_text(f"{helper.pk} Triage for the night shift")
    expect(page.locator("#access")).not_to_contain_text("helper")
    page.locator("#access").get_by_role("link", name="End…").click()
    page.get_by_role("button", name="End the delegation").click()
    expect(page.locator(".msg-success")).to_contain_text("no longer acts for orchestrator")
    expect(page.locator("#access")).to_contain_text("No other identity may act for it")
    assert blocked == []


def _leaky_agent(alice, sam, make_identity) -> Agent:
    key = new_private_key()
    identity = make_identity(alice, credential=False, name="leaky-agent")
    credential = credential_add_jwk(actor=alice, identity=identity, jwk=public_jwk(key))
    agent = Agent(identity_activate(actor=alice, identity=identity), key, credential.kid)
    crm = service_create(actor=sam, name="CRM", audience=CRM, owner=sam, trust_boundary="corp-internal", scopes=["tickets:read"])
    grant_create(actor=sam, identity=agent.identity, service=crm, scopes=["tickets:read"], ends_at=timezone.now() + timedelta(days=1), justification="pilot")
    return agent


def test_someone_reports_a_leaked_token_in_the_browser_and_it_stops_working(page, login, sam, alice, make_identity, client):
    blocked = csp_watch(page)
    agent = _leaky_agent(alice, sam, make_identity)
    token = token_request(client, agent).json()["access_token"]

    login(page, alice)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exposures").click()
    expect(page.locator("main")).to_contain_text("No exposures reported")
    page.get_by_role("link", name="Report a leaked token").first.click()
    page.fill("#id_token", "not-a-token")
    page.fill("#id_where_found", "CI log of build 812")
    page.get_by_role("button", name="Revoke and report").click()
    expect(page.locator(".field.has-error")).to_contain_text("No token or key found in what you pasted")
    expect(page.locator("#id_token")).to_have_value("")
    page.fill("#id_token", token)
    page.get_by_role("button", name="Revoke and report").click()
    expect(page.locator(".msg-success")).to_contain_text("Revoked: 1 token")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exposures").click()
    expect(page.locator("main")).to_contain_text("CI log of build 812")
    expect(page.locator("main")).to_contain_text("leaky-agent")
    assert IssuedToken.objects.get().revoked_at is not None
    assert blocked == []


def test_a_security_admin_confirms_an_exposure_and_the_agent_is_suspended(page, login, sam, alice, make_identity, client):
    blocked = csp_watch(page)
    agent = _leaky_agent(alice, sam, make_identity)
    exposure_report_token(actor=alice, token=token_request(client, agent).json()["access_token"], where_found="public gist")
    held = token_request(client, agent).json()["access_token"]

    login(page, sam)
    page.goto("/exposures/")
    expect(page.locator("main .badge-reported")).to_have_text("reported")
    page.locator("main table").get_by_role("link").first.click()
    expect(page.locator("main")).to_contain_text("public gist")
    page.get_by_role("button", name="Confirm and suspend").click()
    expect(page.locator(".field.has-error")).to_contain_text("This field is required")
    page.fill("#id_reason", "The gist was public for a day.")
    page.get_by_role("button", name="Confirm and suspend").click()
    expect(page.locator(".msg-success")).to_contain_text("leaky-agent is suspended")
    expect(page.locator("main")).to_contain_text("Confirmed by sam")
    assert token_request(client, agent).json()["error"] == "unauthorized_client"
    assert IssuedToken.objects.get(jti=jwt.decode(held, options={"verify_signature": False})["jti"]).revoked_at is not None
    assert blocked == []


def test_an_owner_sees_a_new_network_and_binds_the_agent_to_the_networks_it_used(page, login, sam, alice, make_identity, client):
    blocked = csp_watch(page)
    agent = _leaky_agent(alice, sam, make_identity)
    token_request(client, agent, address="10.20.3.4")
    token_request(client, agent, address="198.51.100.7")

    login(page, alice)
    page.goto(f"/identities/{agent.identity.pk}/")
    credentials = page.locator("#credentials")
    expect(credentials).to_contain_text("198.51.100.0/24")
    expect(credentials.locator(".badge-warn", has_text="new")).to_be_visible()
    credentials.get_by_role("button", name="Allow only these networks").click()
    expect(page.locator(".msg-success")).to_contain_text("now gets tokens only from 10.20.3.0/24, 198.51.100.0/24")
    expect(page.get_by_role("region", name="Facts")).to_contain_text("10.20.3.0/24, 198.51.100.0/24")
    assert token_request(client, agent, address="203.0.113.1").json()["error"] == "unauthorized_client"
    assert blocked == []


def test_a_security_admin_slows_a_looping_agent_and_its_owner_sees_why(page, login, sam, alice, make_identity, client):
    blocked = csp_watch(page)
    agent = _leaky_agent(alice, sam, make_identity)
    login(page, sam)
    page.goto(f"/identities/{agent.identity.pk}/edit/")
    page.fill("#id_token_rate_per_minute", "0")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#id_token_rate_per_minute_error")).to_have_text("Ensure this value is greater than or equal to 1.")
    page.fill("#id_token_rate_per_minute", "2")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("region", name="Facts")).to_contain_text("2 a minute")

    statuses = [token_request(client, agent).status_code for _ in range(4)]
    assert statuses == [200, 200, 429, 429]

    page.context.clear_cookies()
    login(page, alice)
    page.goto(f"/identities/{agent.identity.pk}/")
    expect(page.locator("table", has_text="portal:rate-limit")).to_contain_text("Asked for more than its 2 tokens a minute")
    expect(page.get_by_role("region", name="Risk")).to_contain_text("Asked for tokens past its rate limit")
    page.goto(f"/identities/{agent.identity.pk}/edit/")
    assert page.locator("#id_token_rate_per_minute").count() == 0  # owners read the limit, security admins set it
    assert blocked == []
