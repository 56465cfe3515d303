"""The Swagger UI at /api/docs/ works under the portal's strict CSP (script-src 'self')."""

import pytest

pytestmark = pytest.mark.browser


def test_it_renders_the_api_docs_without_csp_violations(page, login, alice):
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    login(page, alice)
    page.goto("/api/docs/")
    # Every tag is there, folded (the last one included: an expanded page of 130 operations
    # once rendered only its first two); opening one shows its operations.
    page.locator(".opblock-tag", has_text="webhooks").wait_for()
    assert page.locator(".opblock-tag").count() >= 20
    page.locator(".opblock-tag", has_text="identities").first.click()
    page.wait_for_selector("text=/api/v1/identities/")
    assert page.locator(".swagger-ui .info .title").first.inner_text().startswith("NHI Portal API")
    assert violations == []
