"""The API's refusals, whatever refuses: JSON with a reason a client can read, in one shape.

- 404 for a path under /api/ that names no endpoint, as for an object you may not see;
- 400 keyed by field, with what concerns no one field under `detail`, whether a serializer or
  a service function refused it.
"""

import json

from django.test import Client

from tokens.models import WorkloadCredential

API = "/api/v1/"


def test_it_answers_a_path_that_names_no_endpoint_with_a_json_404(client_for, sam):
    client = client_for(sam)
    for path in [f"{API}no-such-thing/", f"{API}people/not-a-number/", f"{API}signing-keys/no-such-kid/", "/api/v2/identities/"]:
        response = client.get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", path
        assert response.json() == {"detail": "Not found."}, path
    assert client.post(f"{API}no-such-thing/", "{}", content_type="application/json").json() == {"detail": "Not found."}


def test_it_answers_a_json_404_to_someone_not_signed_in_too(db):
    response = Client().get(f"{API}no-such-thing/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_pages_keep_their_html_404(client_for, alice):
    response = client_for(alice).get("/no-such-page/")
    assert response.status_code == 404 and "Nothing here" in response.content.decode()


def test_a_refusal_about_no_one_field_is_under_detail_whoever_refuses(client_for, alice, make_identity):
    identity = make_identity(alice, credential=False)
    client = client_for(alice)
    # The serializer's refusal: neither a key, nor a SPIFFE ID, nor a federated subject.
    neither = client.post(f"{API}credentials/", json.dumps({"identity": str(identity.pk)}), content_type="application/json")
    assert neither.status_code == 400
    assert neither.json() == {"detail": "Send one of jwk (a public JWK), spiffe_id, or federated_issuer and subject."}
    # A body that is no JSON object at all.
    listed = client.post(f"{API}credentials/", "[1, 2]", content_type="application/json")
    assert listed.status_code == 400 and list(listed.json()) == ["detail"]
    assert not WorkloadCredential.objects.exists()


def test_every_404_has_the_same_body_whether_missing_or_hidden(client_for, alice, bob, make_identity):
    hidden = make_identity(bob)
    client = client_for(alice)
    answers = [
        client.get(f"{API}identities/{hidden.pk}/"),
        client.get(f"{API}identities/00000000-0000-0000-0000-000000000000/"),
        client.get(f"{API}identities/{hidden.pk}/history/"),
        client.get(f"{API}identities/{hidden.pk}/blast-radius/"),
        client.post(f"{API}identities/{hidden.pk}/suspend/", {"reason": "x"}, content_type="application/json"),
        client.get(f"{API}services/99999/"),
    ]
    assert [(a.status_code, a.json()) for a in answers] == [(404, {"detail": "Not found."})] * len(answers)
