"""Free text a person writes (a purpose, a plan, a justification, a reason, instructions) holds
a few paragraphs, on the pages and in the API alike: a pasted log is refused next to its field,
and nothing is written."""

import json

import pytest

from inventory.models import AIIdentity, Campaign
from nhiportal.free_text import MAX_CHARS
from tokens.models import AccessRequest, AccessReview, Grant

pytestmark = pytest.mark.django_db

TOO_LONG = "x" * (MAX_CHARS + 1)


@pytest.mark.parametrize("path, field, model", [
    ("/api/v1/identities/", "purpose", AIIdentity),
    ("/api/v1/identities/", "offboarding_plan", AIIdentity),
    ("/api/v1/grants/", "justification", Grant),
    ("/api/v1/access-requests/", "justification", AccessRequest),
    ("/api/v1/access-reviews/", "instructions", AccessReview),
    ("/api/v1/campaigns/", "instructions", Campaign),
    ("/api/v1/claims/", "reason", None),
    ("/api/v1/services/", "description", None),
])
def test_the_api_refuses_free_text_past_the_limit(client_for, sam, path, field, model):
    response = client_for(sam).post(path, json.dumps({field: TOO_LONG}), content_type="application/json")
    assert response.status_code == 400 and field in response.json(), response.content
    assert f"no more than {MAX_CHARS} characters" in response.json()[field][0]
    assert model is None or not model.objects.exists()


def test_the_register_page_says_so_next_to_the_field(client_for, alice):
    page = client_for(alice).get("/identities/new/")
    assert f'maxlength="{MAX_CHARS}"'.encode() in page.content
    body = {"name": "pasted-log-agent", "kind": "agent", "environment": "production", "purpose": TOO_LONG}
    response = client_for(alice).post("/identities/new/", body)
    assert response.status_code == 400
    assert f"Ensure this value has at most {MAX_CHARS} characters".encode() in response.content
    assert b'id="id_purpose_error"' in response.content
    assert not AIIdentity.objects.filter(name="pasted-log-agent").exists()


def test_a_limit_long_text_is_taken(client_for, alice):
    body = {"name": "wordy-agent", "kind": "agent", "environment": "development", "purpose": "y" * MAX_CHARS,
            "primary_owner": "alice"}
    response = client_for(alice).post("/api/v1/identities/", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    assert AIIdentity.objects.get(name="wordy-agent").purpose == "y" * MAX_CHARS
