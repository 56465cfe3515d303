"""The token benchmark's setup (bench/token_setup.py) runs against the portal's own rules, which
change under it: an agent it could no longer set up would fail `make bench` unseen by CI."""

import json

from bench.token_setup import AGENT, main
from tokens.models import Grant


def test_the_benchmark_setup_leaves_an_active_agent_with_a_live_grant(db, tmp_path):
    fixture = tmp_path / "fixture.json"

    main(fixture)

    written = json.loads(fixture.read_text())
    grant = Grant.objects.select_related("identity").get(identity__pk=written["client_id"])
    assert grant.identity.name == AGENT and grant.identity.status == "active"
    assert grant.scopes == ["contacts:read", "contacts:write"] and grant.revoked_at is None
    assert oct(fixture.stat().st_mode & 0o777) == "0o600"
