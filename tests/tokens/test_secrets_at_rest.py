"""No secret the portal handles is kept or logged as it is.

One run passes every place a secret goes through: an agent's client assertion and access
token, a JWT-SVID another agent signs in with, a service's assertion when it introspects, a token exchanged from it, a person's API and directory sync tokens, tokens reported
leaked, a webhook's secret and its URL (a chat's incoming webhook is that channel's
credential), an authenticator app's secret and recovery codes, a password, a session id, and
the portal's own signing key. Then every row of every table, and every log record of the run,
is searched for each of them: the portal keeps hashes, and what it must read back it keeps
encrypted.
"""

import base64
import logging
import re

import pytest
from cryptography.hazmat.primitives import serialization
from django.db import connection
from django.test import Client

from tests.conftest import PASSWORD
from tests.people.test_second_factor import enrol, password_step
from tests.tokens.conftest import ASSERTION_TYPE, TOKEN_URL
from tests.tokens.test_introspection import crm_server  # noqa: F401  (a fixture: a service that introspects)
from tests.tokens.test_spiffe import bundle_key, request_with, svid, svid_agent, trust_domain  # noqa: F401  (fixtures)
from tests.webhooks.conftest import receiver  # noqa: F401  (a fixture: the webhook's real receiver)
from tokens.keys import _decrypt
from tokens.models import KeyState, SigningKey

pytestmark = pytest.mark.django_db


def stored_values():
    """(table, value) for every value of every row in the database."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if value is not None:
                        yield table, value


def _places(secret: str | bytes, values, records) -> list[str]:
    text = secret if isinstance(secret, str) else None
    raw = secret if isinstance(secret, bytes) else secret.encode()
    spellings = [raw.hex(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")]
    if text:
        spellings.append(text)
    found = []
    for table, value in values:
        if isinstance(value, (bytes, memoryview)):
            if raw in bytes(value):
                found.append(table)
        elif any(s in str(value) for s in spellings):
            found.append(table)
    found += [f"log {r.name}" for r in records if any(s in r.getMessage() + str(r.exc_text or "") for s in spellings)]
    return sorted(set(found))


def test_no_secret_the_portal_handles_is_kept_or_logged_as_it_is(
    caplog, client_for, oauth, alice, sam, agent, get_token, receiver, crm_server, svid_agent, bundle_key,
):
    caplog.set_level(logging.DEBUG)
    secrets = {"password": PASSWORD}

    # An agent's client assertion and access token, then a token exchanged from it.
    assertion = agent.assertion()
    token = get_token(agent, assertion=assertion)["access_token"]
    secrets["client assertion"], secrets["access token"] = assertion, token
    exchanged = oauth.post("/oauth/token", {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": token,
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token", "scope": "tickets:read",
        "client_assertion_type": ASSERTION_TYPE, "client_assertion": agent.assertion(aud=TOKEN_URL),
    })
    assert exchanged.status_code == 200, exchanged.content
    secrets["exchanged token"] = exchanged.json()["access_token"]
    # Another agent signs in with a JWT-SVID from its platform, and a service introspects.
    platform_token = svid(bundle_key)
    assert request_with(oauth, platform_token).status_code == 200
    secrets["JWT-SVID"] = platform_token
    service_assertion = crm_server.assertion()
    introspected = oauth.post("/oauth/introspect", {"token": token, "client_assertion_type": ASSERTION_TYPE, "client_assertion": service_assertion})
    assert introspected.json()["active"] is True
    secrets["service's client assertion"] = service_assertion

    # alice signs in with her password, sets up an app, and makes an API token.
    browser = Client()
    password_step(browser, alice)
    secrets["session id"] = browser.cookies["sessionid"].value
    app_secret, recovery_codes = enrol(browser)
    secrets["authenticator app secret"] = app_secret
    secrets.update({f"recovery code {n}": code for n, code in enumerate(recovery_codes)})
    made = browser.post("/accounts/tokens/", {"name": "export script", "days": 30})
    secrets["API token"] = made.context["raw_token"]
    # She finds the agent's token in a build log and reports it.
    reported = browser.post("/exposures/report/", {"token": token, "where_found": "build log #812"}, follow=True)
    assert b"Revoked" in reported.content
    # And, later, her own API token, pasted into a chat.
    reported = browser.post("/exposures/report/", {"token": secrets["API token"], "where_found": "team chat"}, follow=True)
    assert b"that personal API token no longer works" in reported.content

    # sam makes a directory sync token and a chat webhook.
    admin = client_for(sam)
    made = admin.post("/accounts/tokens/", {"name": "okta", "days": 30, "purpose": "scim"})
    secrets["directory sync token"] = made.context["raw_token"]
    chat_key = "XkT9vQ2mLp8sRw4zYb6n"
    page = admin.post("/webhooks/new/", {"url": f"{receiver.url}/{chat_key}", "categories": ["security"], "format": "chat", "enabled": "on"})
    secrets["webhook secret"] = re.search(r"<code>(whsec_[^<]+)</code>", page.content.decode()).group(1)
    secrets["webhook URL"] = chat_key
    assert admin.post(f"/webhooks/{page.context['endpoint'].pk}/test/").status_code == 302

    # The portal's own signing key, as it signs.
    signer = SigningKey.objects.get(state=KeyState.ACTIVE)
    private = _decrypt(signer)
    secrets["signing key"] = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    secrets["signing key's private number"] = private.private_numbers().private_value.to_bytes(32, "big")

    # A JWT's signature is what no one can make again from its claims, which the ledger keeps.
    for name in ("client assertion", "access token", "exchanged token", "JWT-SVID", "service's client assertion"):
        secrets[f"{name}'s signature"] = secrets[name].rsplit(".", 1)[1]

    values = list(stored_values())
    assert len(values) > 500  # the run wrote what it should have
    kept = {name: places for name, secret in secrets.items() if (places := _places(secret, values, caplog.records))}
    assert kept == {}


def test_the_search_finds_a_secret_kept_as_it_is(alice):
    # The check above must be able to fail: a secret in a column is found, in any spelling.
    from nhiportal.audit.services import audit_record

    audit_record(actor=alice, action="identity.update", obj=alice, object_repr="alice", reason="pasted: nhip_s3cr3t-value")
    assert _places("nhip_s3cr3t-value", list(stored_values()), []) == ["audit_auditevent"]
    assert _places(b"\x01\x02\x03\x04\x05\x06\x07\x08", [("t", "0102030405060708")], []) == ["t"]
