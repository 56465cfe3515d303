"""The OpenAPI document: valid, complete for the identities and audit API, generated without warnings."""

import json

from django.urls import include, path, reverse
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

OUR_PATHS = {
    "/api/v1/identities/": {"get", "post"},
    "/api/v1/identities/{id}/": {"get", "put", "patch"},
    "/api/v1/identities/{id}/activate/": {"post"},
    "/api/v1/identities/{id}/suspend/": {"post"},
    "/api/v1/identities/{id}/reactivate/": {"post"},
    "/api/v1/identities/{id}/offboard/": {"post"},
    "/api/v1/identities/{id}/attest/": {"post"},
    "/api/v1/identities/{id}/owners/": {"get", "put"},
    "/api/v1/identities/{id}/history/": {"get"},
    "/api/v1/audit-events/": {"get"},
    "/api/v1/audit-events/{id}/": {"get"},
}


def test_it_serves_a_valid_openapi_document_listing_our_paths(db, client):
    response = client.get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate_schema(schema)
    for route, methods in OUR_PATHS.items():
        assert methods <= set(schema["paths"][route]), route
    assert schema["components"]["securitySchemes"]["personalToken"]["scheme"] == "bearer"
    conflict = schema["paths"]["/api/v1/identities/{id}/activate/"]["post"]["responses"]["409"]
    assert conflict["content"]["application/json"]["schema"]["$ref"].endswith("/Conflict")


def test_it_generates_our_part_of_the_schema_without_warnings(db):
    ours = [path("api/v1/", include([path("", include("inventory.api.urls")), path("", include("nhiportal.audit.api.urls"))]))]
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator(patterns=ours).get_schema(request=None, public=True)
    assert dict(GENERATOR_STATS._warn_cache) == {}
    assert dict(GENERATOR_STATS._error_cache) == {}


def test_each_identity_endpoint_documents_its_own_answer(db, client):
    schema = json.loads(client.get(reverse("api-schema"), {"format": "json"}).content)

    def answer(route):
        operation = schema["paths"][route]["get"]
        return operation["tags"], json.dumps(operation["responses"]["200"]["content"]["application/json"]["schema"])

    assert answer("/api/v1/identities/{id}/activity/") == (["identities"], '{"type": "array", "items": {"$ref": "#/components/schemas/ActivityDay"}}')
    tags, listing = answer("/api/v1/identities/unused/")
    assert tags == ["identities"] and "UnusedIdentity" in listing
