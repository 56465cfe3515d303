"""Whatever a security admin sends the REST API, it answers with a reason, never a 500.

Schemathesis reads the API's own OpenAPI description (/api/schema/) and, for every operation,
sends requests built from it: valid ones, and ones that break it (wrong types, missing or
extra fields, out-of-range numbers, odd strings) in the body, the query and the path. As a
security admin, who may call every operation, the requests get past the gate to validation
and the services. The filters of every list, the creates and every action are covered by
the same check, on SQLite and PostgreSQL alike. A second pass aims the operations that name an
object at real ones, over the demo portal, so actions meet live identities, grants, tasks and
reviews with broken bodies and queries, not a 404: as the security admin, and as an owner
on their own objects.
"""

import os

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from nhiportal.people.services import api_token_create
from nhiportal.wsgi import application
from tests.routes import fill_api, fillings

# Per operation. By default the same requests every run, so a failure reproduces and CI never
# fails on a draw nobody saw; NHI_FUZZ_EXAMPLES=200 explores: that many, new ones each run.
EXPLORING = os.environ.get("NHI_FUZZ_EXAMPLES")
EXAMPLES = int(EXPLORING or 8)

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
schema.config.generation.update(modes=["positive", "negative"], max_examples=EXAMPLES, deterministic=not EXPLORING)


@pytest.fixture
def admin_token(sam, connection_kept):
    return api_token_create(user=sam, name="fuzzing", days=1)[1]


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=not EXPLORING, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_any_request_without_a_server_error(case, admin_token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_token}"}, checks=[schemathesis.checks.not_a_server_error],
    )


# The security admin reaches every object; an owner reaches their own identities, tasks,
# delegations and requests, where the owners' actions (attesting, cancelling) live.
@pytest.mark.parametrize("username", ["sam", "alice"])
def test_the_api_answers_broken_requests_about_real_objects_without_a_server_error(portal, connection_kept, username):
    person = get_user_model().objects.get(username=username)
    token = api_token_create(user=person, name="fuzzing", days=1)[1]
    headers = {"Authorization": f"Bearer {token}"}
    problems, aimed = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        real = fillings(operation.path, person if username == "alice" else None) if "{" in operation.path else []
        if not real:
            continue
        values = fill_api(operation.path, real[0])
        aimed += 1
        for mode in ("positive", "negative"):
            @given(case=operation.as_strategy(schemathesis.GenerationMode(mode), path_parameters=values))
            @settings(max_examples=EXAMPLES, derandomize=not EXPLORING, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck))
            def send(case):
                response = case.call(headers=headers)
                if response.status_code >= 500:
                    problems.append(f"{case.method} {case.formatted_path} {case.query} {case.body!r:.200}: {response.status_code}")

            try:
                send()
            except Unsatisfiable:
                pass  # nothing left to break: the path is fixed and it takes no body or query
    assert aimed >= 60  # of the 72 operations that name an object
    assert not problems, "\n".join(problems)
