"""Times in what agents present: a platform's token may expire as late as a NumericDate goes."""

import uuid

from tokens.jws import LATEST
from tokens.models import UsedAssertion

from .test_federation import issuer, pipeline, platform_key, workload_token  # noqa: F401
from .test_spiffe import request_with


def test_a_platform_token_expiring_at_the_end_of_the_calendar_is_accepted_once(oauth, pipeline, platform_key):  # noqa: F811
    # Its replay row is kept until its exp plus the leeway, which is past 9999-12-31: the last
    # instant the database keeps stands in for it.
    token = workload_token(platform_key, jti=uuid.uuid4().hex, exp=LATEST)
    response = request_with(oauth, token)
    assert response.status_code == 200, response.content
    assert UsedAssertion.objects.get().expires_at.year == 9999
    again = request_with(oauth, token)
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"
