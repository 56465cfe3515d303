"""Names hold only what their reader sees: a line break, a zero-width space or a right-to-left
override in an identity's, a service's or an API token's name is refused next to the field,
wherever the name is given, and nothing is written."""

import json

import pytest
from django.urls import reverse

from inventory.models import AIIdentity
from nhiportal.people.models import PersonalAPIToken
from tests.inventory.test_identity_names import register_api
from tests.inventory.test_imports import HEADER, upload
from tests.inventory.test_views_register import REGISTER, form_data
from tokens.models import Service

pytestmark = pytest.mark.django_db
UNSEEN = {
    "a line break": "billing-bot\nX-Injected: yes",
    "a zero-width space": "github-mcp-server\u200b",
    "a right-to-left override": "payroll-\u202etob",
}


@pytest.mark.parametrize("name", UNSEEN.values(), ids=UNSEEN.keys())
def test_an_identity_name_with_an_unseen_character_is_refused_everywhere_it_is_given(name, alice, sam, client_for, make_identity):
    response = register_api(client_for(alice), name=name)
    assert response.status_code == 400 and "characters a reader can see" in response.json()["name"][0]
    page = client_for(alice).post(REGISTER, form_data(name=name))
    assert page.status_code == 400 and 'id="id_name_error"' in page.content.decode() and "characters a reader can see" in page.content.decode()
    imported = upload(client_for(sam), HEADER + f'"{name}",agent,production,Sorts invoices.,finance,supervised,Confidential,Disable its key.,alice,\n')
    assert imported.status_code == 400 and "characters a reader can see" in imported.content.decode()
    mine = make_identity(alice, name="billing-bot")
    renamed = client_for(alice).patch(
        f"/api/v1/identities/{mine.pk}/", json.dumps({"name": name, "version": mine.version}), content_type="application/json",
    )
    assert renamed.status_code == 400 and "name" in renamed.json()
    assert list(AIIdentity.objects.values_list("name", flat=True)) == ["billing-bot"]


def test_a_service_name_with_an_unseen_character_is_refused(sam, client_for):
    response = client_for(sam).post("/api/v1/services/", {
        "name": "Wiki\u202e", "audience": "https://wiki.example.com", "owner": "sam",
    }, content_type="application/json")
    assert response.status_code == 400 and "U+202E" in response.json()["name"][0]
    assert not Service.objects.exists()


def test_an_api_token_name_with_a_line_break_is_a_form_error_next_to_the_name(alice, client_for):
    response = client_for(alice).post(reverse("people:token-list"), {"name": "ci\nBcc: mallory@evil.example", "days": "30"})
    assert 'id="id_name_error"' in response.content.decode() and "characters a reader can see" in response.content.decode()
    assert not PersonalAPIToken.objects.exists()


def test_names_in_other_scripts_and_with_spaces_are_still_names(alice, client_for):
    assert register_api(client_for(alice), name="Überweisungs Agent – 経理").status_code == 201


LOOK_ALIKES = {
    "a Cyrillic letter among Latin ones": ("\u0441ontract-clause-reviewer", "mixes Cyrillic and Latin letters"),
    "a Greek letter among Latin ones": ("p\u03b1yroll-bot", "mixes Greek and Latin letters"),
    "a hyphen that is not the hyphen-minus": ("contract\u2010clause-reviewer", "U+2010"),
}


@pytest.mark.parametrize(("name", "reason"), LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_an_identity_name_that_could_pass_for_another_is_refused_next_to_the_field(name, reason, alice, client_for, make_identity):
    make_identity(alice, name="contract-clause-reviewer")
    response = register_api(client_for(alice), name=name)
    assert response.status_code == 400 and reason in response.json()["name"][0]
    page = client_for(alice).post(REGISTER, form_data(name=name))
    assert page.status_code == 400 and 'id="id_name_error"' in page.content.decode() and reason in page.content.decode()
    assert list(AIIdentity.objects.values_list("name", flat=True)) == ["contract-clause-reviewer"]


@pytest.mark.parametrize("name", ["ПочтаБот", "請求書-エージェント", "정산 agent 결제", "Überweisungs Agent – 経理", "agent-ª1"])
def test_names_in_one_script_or_in_scripts_written_together_are_names(name, alice, client_for):
    assert register_api(client_for(alice), name=name).status_code == 201
