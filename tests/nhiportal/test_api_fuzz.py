"""Whatever a security admin sends the REST API, it answers with a reason, never a 500.

Schemathesis reads the API's own OpenAPI description (/api/schema/) and, for every operation,
sends requests built from it: valid ones, and ones that break it (wrong types, missing or
extra fields, out-of-range numbers, odd strings) in the body, the query and the path. As a
security admin, who may call every operation, the requests get past the gate to validation
and the services. The filters of every list, the creates and every action are covered by
the same check, on SQLite and PostgreSQL alike.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from nhiportal.people.services import api_token_create
from nhiportal.wsgi import application

# Per operation. By default the same requests every run, so a failure reproduces and CI never
# fails on a draw nobody saw; NHI_FUZZ_EXAMPLES=200 explores: that many, new ones each run.
EXPLORING = os.environ.get("NHI_FUZZ_EXAMPLES")
EXAMPLES = int(EXPLORING or 8)

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
schema.config.generation.update(modes=["positive", "negative"], max_examples=EXAMPLES, deterministic=not EXPLORING)


@pytest.fixture
def admin_token(sam):
    # The test's transaction must outlive each request: Django's test client keeps the
    # connection open across requests the same way; this calls the WSGI app directly.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield api_token_create(user=sam, name="fuzzing", days=1)[1]
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=not EXPLORING, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_any_request_without_a_server_error(case, admin_token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_token}"}, checks=[schemathesis.checks.not_a_server_error],
    )
