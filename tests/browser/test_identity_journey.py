"""An owner's whole journey with one identity, in a real browser.

Each step is a function, so a new requirement becomes a new step in the list (activation
needs a workload credential: the owner adds a public key in the credentials panel).
"""

import re

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from playwright.sync_api import Page, expect


pytestmark = pytest.mark.browser

NAME = "ticket-summariser"


def register_it_forgetting_the_purpose(page: Page):
    page.goto("/identities/")
    page.get_by_role("link", name="Register identity").first.click()
    page.fill("#id_name", NAME)
    page.select_option("#id_kind", "agent")
    page.select_option("#id_environment", "production")
    page.fill("#id_trust_boundary", "corp-internal")
    page.select_option("#id_sensitivity_ceiling", "3")
    page.fill("#id_offboarding_plan", "Disable its key, end its tasks, archive its prompts.")
    page.get_by_role("button", name="Register").click()


def see_the_error_next_to_the_purpose(page: Page):
    expect(page.locator(".field.has-error #id_purpose_error")).to_have_text("This field is required.")
    # What was typed survives the round trip.
    expect(page.locator("#id_name")).to_have_value(NAME)


def fix_the_purpose_and_register(page: Page):
    page.fill("#id_purpose", "Summarises support tickets for the on-call engineer.")
    page.get_by_role("button", name="Register").click()
    expect(page.locator(".msg-success")).to_contain_text(f"Registered {NAME}")
    expect(page.locator("h1")).to_have_text(NAME)


def give_it_a_workload_credential(page: Page):
    page.get_by_role("link", name="Add public key").click()
    page.fill("#id_label", "build host")
    page.fill("#id_jwk", ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()))
    page.get_by_role("button", name="Add credential").click()
    expect(page.locator(".msg-success")).to_contain_text("Added the credential")
    expect(page.locator("#credentials")).to_contain_text("build host")


def activate_it(page: Page):
    page.get_by_role("button", name="Activate").click()
    expect(page.locator(".msg-success")).to_have_text(f"{NAME} is active.")
    expect(page.locator(".page-head .badge-active")).to_have_text("Active")


def find_it_with_a_filter(page: Page):
    page.goto("/identities/")
    page.fill("#id_q", "summariser")
    page.select_option("#id_status", "active")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"status=active"))
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    rows.get_by_role("link", name=NAME).click()
    expect(page.locator("h1")).to_have_text(NAME)


def offboard_it(page: Page):
    page.get_by_role("link", name="Offboard…").click()
    expect(page.locator("main")).to_contain_text("every live token it holds is revoked")
    page.fill("#id_reason", "The support pilot ended.")
    page.fill("#id_confirm_name", NAME)
    page.get_by_role("button", name=f"Offboard {NAME}").click()
    expect(page.locator(".msg-success")).to_contain_text(f"{NAME} is offboarded")
    expect(page.locator(".page-head .badge-offboarded")).to_have_text("Offboarded")


def read_its_history(page: Page):
    history = page.locator("#history")
    # Each action reads as a label, its code a tooltip beside it.
    for action in ["offboard", "activate", "register"]:
        expect(history.locator(f'span[title="identity.{action}"]')).to_have_text(f"Identity: {action}")
    expect(history).to_contain_text("The support pilot ended.")


def test_an_owner_registers_activates_finds_and_offboards_an_identity(page, login, alice):
    # The pages must work under the strict CSP: anything inline it blocks is reported here.
    blocked = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None)
    login(page, alice)
    register_it_forgetting_the_purpose(page)
    see_the_error_next_to_the_purpose(page)
    fix_the_purpose_and_register(page)
    give_it_a_workload_credential(page)
    activate_it(page)
    find_it_with_a_filter(page)
    offboard_it(page)
    read_its_history(page)
    assert blocked == []
