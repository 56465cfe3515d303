import json

import pytest
from jwt.algorithms import ECAlgorithm

from nhiportal.audit.models import AuditEvent
from tokens.models import IssuedToken, Service
from tokens.services import service_update

from .conftest import CRM, new_private_key, public_jwk


def scope_rows(*rows, initial=0):
    data = {"scopes-TOTAL_FORMS": str(len(rows)), "scopes-INITIAL_FORMS": str(initial)}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"scopes-{i}-{key}"] = value
    return data


def service_data(owner, **overrides):
    data = {
        "name": "Billing",
        "audience": "https://billing.example.com",
        "description": "Invoices",
        "owner": owner.pk,
        "environment": "production",
        "trust_boundary": "corp-internal",
        "sensitivity": "2",
        "is_active": "on",
        "introspection_jwk": "",
    }
    data.update(overrides)
    data.update(scope_rows({"name": "invoices:read", "description": "Read invoices"}, {"name": "invoices:pay", "consequential": "on"}, {"name": ""}))
    return data


@pytest.mark.parametrize("person", ["alice", "charlie", "rita", "carol", "sam"])
def test_everyone_logged_in_reads_services(request, client_for, crm, person):
    client = client_for(request.getfixturevalue(person))
    listing = client.get("/services/")
    assert listing.status_code == 200 and b"CRM" in listing.content
    detail = client.get(f"/services/{crm.pk}/")
    assert detail.status_code == 200 and b"tickets:read" in detail.content


def test_an_anonymous_visitor_is_sent_to_log_in(client, crm):
    assert client.get("/services/").status_code == 302


def test_a_security_admin_registers_a_service_with_scopes(client_for, sam):
    response = client_for(sam).post("/services/new/", service_data(sam))

    service = Service.objects.get(name="Billing")
    assert response.status_code == 302 and response["Location"] == f"/services/{service.pk}/"
    assert dict(service.scopes.values_list("name", "consequential")) == {"invoices:read": False, "invoices:pay": True}
    assert AuditEvent.objects.filter(action="service.create").count() == 1


def test_more_scope_rows_keep_what_was_typed_and_save_nothing(client_for, sam):
    response = client_for(sam).post("/services/new/", {**service_data(sam, name=""), "more_rows": "1"})
    assert response.status_code == 200 and not Service.objects.exists()
    assert response.context["scopes"].total_form_count() == 6
    html = response.content.decode()
    assert 'value="invoices:read"' in html and 'value="https://billing.example.com"' in html
    assert "This field is required" not in html  # nothing judged yet: the name is still to come


def test_more_scope_rows_keep_an_unticked_box_unticked_and_stop_at_a_hundred(client_for, sam, crm):
    edit = {**service_data(sam, name="CRM", audience=crm.audience), "more_rows": "1"}
    del edit["is_active"]  # the admin unticked Active before asking for rows
    form = client_for(sam).post(f"/services/{crm.pk}/edit/", edit).context["form"]
    assert form.initial["is_active"] is False
    many = client_for(sam).post("/services/new/", {**service_data(sam), "more_rows": "1", "scopes-TOTAL_FORMS": "999999999999"})
    assert many.context["scopes"].total_form_count() == 100


def test_it_shows_form_errors_next_to_the_fields(client_for, sam, crm):
    response = client_for(sam).post("/services/new/", service_data(sam, audience=CRM, name="CRM"))
    assert response.status_code == 400
    assert b"has-error" in response.content or b"alert-error" in response.content
    assert Service.objects.count() == 1


def test_it_refuses_a_private_introspection_key(client_for, sam):
    private = ECAlgorithm.to_jwk(new_private_key())
    response = client_for(sam).post("/services/new/", service_data(sam, introspection_jwk=private))
    assert response.status_code == 400 and b"private key" in response.content
    assert json.loads(private)["d"].encode() not in response.content
    assert not Service.objects.exists()


def test_a_security_admin_edits_scopes_and_the_introspection_key(client_for, sam, crm):
    rows = scope_rows(
        {"name": "tickets:read", "description": "Read"},
        {"name": "tickets:write", "DELETE": "on"},
        {"name": "customers:export", "consequential": "on"},
        initial=3,
    )
    data = {
        **service_data(sam, name="CRM", audience=CRM), **rows, "introspection_jwk": json.dumps(public_jwk(new_private_key())),
        "reason": "Nobody writes tickets through it.",
    }
    response = client_for(sam).post(f"/services/{crm.pk}/edit/", data)
    assert response.status_code == 302, response.content
    crm.refresh_from_db()
    assert sorted(crm.scopes.values_list("name", flat=True)) == ["customers:export", "tickets:read"]
    assert crm.introspection_jwk["kty"] == "EC"


@pytest.mark.parametrize("person", ["alice", "charlie", "rita", "carol"])
def test_only_security_admins_change_services(request, client_for, crm, sam, person):
    client = client_for(request.getfixturevalue(person))
    assert client.get("/services/new/").status_code == 403
    assert client.post("/services/new/", service_data(sam)).status_code == 403
    assert client.get(f"/services/{crm.pk}/edit/").status_code == 403
    assert Service.objects.count() == 1


def test_an_unknown_service_is_404(client_for, alice):
    assert client_for(alice).get("/services/999/").status_code == 404


def test_the_list_has_an_empty_state(client_for, alice, sam):
    assert b"No services registered yet" in client_for(alice).get("/services/").content
    assert b"Register service" in client_for(sam).get("/services/").content


def test_swapping_the_introspection_key_or_a_scopes_description_is_audited(crm, sam, audit_actions_during):
    from tokens.public_keys import jwk_thumbprint
    from tokens.services import service_update

    first, second = public_jwk(new_private_key()), public_jwk(new_private_key())
    service_update(actor=sam, service=crm, introspection_jwk=first)
    _, actions = audit_actions_during(lambda: service_update(actor=sam, service=crm, introspection_jwk=second))
    assert actions == ["service.update"]
    event = AuditEvent.objects.filter(action="service.update").latest("id")
    assert (event.before["introspection"], event.after["introspection"]) == (jwk_thumbprint(first), jwk_thumbprint(second))
    scopes = [{"name": s.name, "description": s.description, "consequential": s.consequential} for s in crm.scopes.all()]
    scopes[0]["description"] = "Read and delete tickets"
    _, actions = audit_actions_during(lambda: service_update(actor=sam, service=crm, scopes=scopes))
    assert actions == ["service.update"]
    assert "Read and delete tickets" in str(AuditEvent.objects.filter(action="service.update").latest("id").after["scopes"])


def crm_edit(sam, crm, *, drop=(), **overrides):
    """The CRM's edit form as it stands, with some scopes ticked for removal and fields changed."""
    rows = scope_rows(*({"name": s.name, "description": s.description, **({"consequential": "on"} if s.consequential else {}),
                         **({"DELETE": "on"} if s.name in drop else {})} for s in crm.scopes.all()), initial=crm.scopes.count())
    data = {**service_data(sam, name="CRM", audience=CRM, trust_boundary=crm.trust_boundary), **rows}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("change", ["deactivate", "remove a scope"])
def test_deactivating_a_service_or_removing_a_scope_on_its_page_needs_a_reason_kept_on_the_revoked_tokens(
    client_for, sam, crm, agent, get_token, change,
):
    held = get_token(agent, scope="tickets:write")
    edit = crm_edit(sam, crm, is_active=None) if change == "deactivate" else crm_edit(sam, crm, drop=["tickets:write"])

    refused = client_for(sam).post(f"/services/{crm.pk}/edit/", edit)

    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'id="id_reason_error"' in html and "Say why" in html[html.index('id="id_reason_error"'):]
    crm.refresh_from_db()
    assert crm.is_active and crm.scopes.filter(name="tickets:write").exists()
    assert IssuedToken.objects.get(task_id=held["task_id"]).revoked_at is None

    saved = client_for(sam).post(f"/services/{crm.pk}/edit/", {**edit, "reason": "Moved to the new helpdesk."})

    assert saved.status_code == 302, saved.content
    token = IssuedToken.objects.get(task_id=held["task_id"])
    assert token.revoked_at is not None and token.revoke_reason.endswith(": Moved to the new helpdesk.")
    event = AuditEvent.objects.filter(action="service.update").latest("id")
    assert event.reason == "Moved to the new helpdesk." and event.after["tokens_revoked"] == 1


def test_an_edit_that_neither_deactivates_nor_removes_a_scope_needs_no_reason(client_for, sam, crm):
    response = client_for(sam).post(f"/services/{crm.pk}/edit/", crm_edit(sam, crm, description="The helpdesk's CRM."))
    assert response.status_code == 302, response.content
    assert Service.objects.get(pk=crm.pk).description == "The helpdesk's CRM."


def test_the_grants_of_an_inactive_service_read_as_not_usable(client_for, sam, alice, crm, agent, grant):
    grant(agent, crm, ["tickets:read"])
    for url in ("/grants/", f"/identities/{agent.identity.pk}/access-panel/"):
        assert "not usable" not in client_for(alice).get(url).content.decode()

    service_update(actor=sam, service=crm, is_active=False, reason="Retired.")

    for url in ("/grants/", f"/identities/{agent.identity.pk}/access-panel/"):
        html = client_for(alice).get(url).content.decode()
        assert "not usable: service inactive" in html and 'badge-live">live<' not in html, url
    assert "these grants get no token" in client_for(alice).get(f"/services/{crm.pk}/").content.decode()
