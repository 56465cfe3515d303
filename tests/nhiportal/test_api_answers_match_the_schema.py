"""What the API answers is what its OpenAPI description (/api/schema/) says it answers: the
status codes, and the body of each, field by field: names, types, nullability, enums and the
page envelope. A client generated from the description reads every answer it gets.

The walk reads every GET operation over the demo portal, aimed at real objects, as a security
admin (everything), an owner (their own, and refusals elsewhere) and compliance (read-only).
"""

import json

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.wsgi import get_wsgi_application
from django.test import Client

from nhiportal.people.services import api_token_create
from tests.routes import fill_api, fillings

CHECKS = [
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@pytest.mark.parametrize("username", ["sam", "alice", "carol"])
def test_every_answer_to_a_read_matches_its_description(portal, connection_kept, username):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    person = get_user_model().objects.get(username=username)
    headers = {"Authorization": f"Bearer {api_token_create(user=person, name='walk', days=1)[1]}"}
    problems, read = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() != "GET":
            continue
        values = {}
        if "{" in operation.path:
            real = fillings(operation.path, person if username == "alice" else None)
            if not real:
                continue  # the demo holds none (webhooks)
            values = fill_api(operation.path, real[0])
        case = operation.Case(path_parameters=values)
        response = case.call(headers=headers)
        read += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseException as failure:  # schemathesis reports a group of failures
            problems.append(f"GET {case.formatted_path} ({response.status_code}): {str(failure)[:600]}")
    assert read >= 50
    assert not problems, "\n\n".join(problems)


def test_every_operation_describes_its_refusals_with_a_body(db):
    described = json.loads(Client().get("/api/schema/", {"format": "json"}).content)
    missing = []
    for route, operations in described["paths"].items():
        for method, operation in operations.items():
            expected = {"401", "403", "404", "429"}
            if "requestBody" in operation:
                expected |= {"400", "415"}
            for code in sorted(expected - set(operation["responses"])):
                missing.append(f"{method.upper()} {route}: no {code}")
            for code, response in operation["responses"].items():
                if code[0] in "45" and "content" not in response:
                    missing.append(f"{method.upper()} {route}: {code} without a body")
    assert not missing, "\n".join(missing)
    error = described["components"]["schemas"]["Error"]
    assert error["required"] == ["detail"] and error["properties"]["detail"]["type"] == "string"


def test_operation_ids_are_unique(db):
    described = json.loads(Client().get("/api/schema/", {"format": "json"}).content)
    ids = [operation["operationId"] for operations in described["paths"].values() for operation in operations.values()]
    assert len(ids) == len(set(ids)) >= 100
