"""A security admin brings an existing inventory in from a spreadsheet, in a real browser."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_token_pages import csp_watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEADER = "name,kind,environment,purpose,primary_owner,backup_owners\n"


def test_a_security_admin_fixes_the_problem_the_import_names_then_imports(page, login, sam, alice, tmp_path):
    blocked = csp_watch(page)
    login(page, sam)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Identities").click()
    page.get_by_role("link", name="Import CSV").click()
    expect(page.locator("main h1")).to_have_text("Import identities")

    bad = tmp_path / "agents.csv"
    bad.write_text(HEADER + "crm-sync,agent,production,Syncs the CRM.,alice,\nmailer,robot,production,Sends mail.,alice,\n")
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("region", name="Problems")).to_contain_text("“robot” is not one of: agent")
    expect(page.locator("main")).to_contain_text("Nothing was imported")

    good = tmp_path / "agents-fixed.csv"
    good.write_text(bad.read_text().replace("robot", "Pipeline / batch job"))
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("status")).to_contain_text("Imported 2 identities")
    expect(page.get_by_role("link", name="crm-sync")).to_be_visible()
    expect(page.get_by_role("link", name="mailer")).to_be_visible()
    assert blocked == []
