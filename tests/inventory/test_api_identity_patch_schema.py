"""PATCH identities/{id}/ changes only what is sent, but always needs `version`: the OpenAPI
description says so, as the server does."""

import json


def test_the_schema_marks_version_required_on_patch(client_for, alice):
    described = json.loads(client_for(alice).get("/api/schema/", {"format": "json"}).content)
    body = described["paths"]["/api/v1/identities/{id}/"]["patch"]["requestBody"]
    schema = described["components"]["schemas"][body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert schema["required"] == ["version"]
    assert "409" in schema["properties"]["version"]["description"]
    assert body.get("required") is True


def test_the_server_refuses_a_patch_without_version(client_for, alice, make_identity):
    identity = make_identity(alice)
    response = client_for(alice).patch(f"/api/v1/identities/{identity.pk}/", {"purpose": "x"}, content_type="application/json")
    assert response.status_code == 400 and list(response.json()) == ["version"]
