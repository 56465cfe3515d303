"""Choosing people in a real browser: type part of a name, pick from the list, remove a chip."""

import re

import pytest
from playwright.sync_api import expect

from inventory.models import AIIdentity, OwnerRole
from nhiportal.people.roles import OWNER
from tests.browser.test_token_pages import csp_watch
from tests.conftest import _person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _named(username, first, last):
    # Owners' pickers offer only people who may own: those with the owner role (or security admins).
    person = _person(username, OWNER)
    person.first_name, person.last_name = first, last
    person.save()
    return person


def _owners(identity):
    return {(o.person.username, o.role) for o in identity.ownerships.select_related("person")}


def test_an_owner_adds_a_backup_by_name_and_removes_another(page, login, alice, bob, make_identity):
    blocked = csp_watch(page)
    _named("grace", "Grace", "Mensah")
    _named("gregor", "Gregor", "Samsa")
    identity = make_identity(alice, backups=[bob])
    login(page, alice)
    page.goto(f"/identities/{identity.pk}/owners/")

    backups = page.locator("#field-id_backup_owners")
    expect(backups.locator(".chip")).to_have_text(["bob×"])
    page.locator("#id_backup_owners").fill("gr")
    options = page.locator("#id_backup_owners-results [role=option]")
    expect(options).to_have_count(2)
    expect(options.first).to_contain_text("Grace Mensah (grace)")
    page.locator("#id_backup_owners").fill("mensah")
    expect(options).to_have_count(1)
    options.first.click()
    expect(backups.locator(".chip")).to_have_text(["bob×", "Grace Mensah (grace)×"])
    expect(page.locator("#id_backup_owners")).to_have_value("")

    # Someone already chosen is not offered again.
    page.locator("#id_backup_owners").fill("grace")
    expect(page.locator("#id_backup_owners-results .picker-note")).to_have_text("No one else matches.")
    page.keyboard.press("Escape")
    expect(page.locator("#id_backup_owners-results")).to_be_hidden()
    page.locator("#id_backup_owners").fill("gregor")
    expect(page.locator("#id_backup_owners-results [role=option]")).to_have_count(1)
    page.keyboard.press("Tab")  # leaving the picker closes its list and picks no one
    expect(page.locator("#id_backup_owners-results")).to_be_hidden()
    expect(backups.locator(".chip")).to_have_count(2)
    page.locator("#id_backup_owners").fill("")

    page.get_by_role("button", name="Remove bob").click()
    page.get_by_role("button", name="Save owners").click()
    expect(page.locator(".msg-success")).to_contain_text(f"Updated the owners of {identity.name}.")
    assert _owners(identity) == {("alice", OwnerRole.PRIMARY), ("grace", OwnerRole.BACKUP)}
    assert blocked == []


def test_a_security_admin_registers_for_someone_chosen_with_the_keyboard(page, login, sam, alice):
    blocked = csp_watch(page)
    _named("alina", "Alina", "Petrova")
    login(page, sam)
    page.goto("/identities/new/")
    page.fill("#id_name", "ledger-reconciler")
    page.select_option("#id_kind", "agent")
    page.fill("#id_purpose", "Reconciles the ledger every night.")
    page.select_option("#id_environment", "production")

    primary = page.locator("#id_primary_owner")
    primary.fill("ali")
    options = page.locator("#id_primary_owner-results [role=option]")
    expect(options).to_have_count(2)  # alice, alina
    expect(options.first).to_have_attribute("aria-selected", "true")
    primary.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    primary.press("ArrowUp")
    primary.press("Enter")  # picks alice; does not submit the form
    expect(page).to_have_url(re.compile(r"/identities/new/$"))
    expect(page.locator("#field-id_primary_owner .chip")).to_have_text(["alice×"])

    # One primary owner: picking another replaces the first.
    primary.fill("petrova")
    expect(options).to_have_count(1)
    primary.press("Enter")
    expect(page.locator("#field-id_primary_owner .chip")).to_have_text(["Alina Petrova (alina)×"])

    page.get_by_role("button", name="Register").click()
    identity = AIIdentity.objects.get(name="ledger-reconciler")
    expect(page).to_have_url(re.compile(rf"/identities/{identity.pk}/$"))
    assert _owners(identity) == {("alina", OwnerRole.PRIMARY)}
    assert blocked == []


def test_removing_the_primary_owner_is_refused_next_to_the_field(page, login, alice, make_identity):
    identity = make_identity(alice)
    login(page, alice)
    page.goto(f"/identities/{identity.pk}/owners/")
    page.get_by_role("button", name="Remove alice").click()
    page.get_by_role("button", name="Save owners").click()
    expect(page.locator("#id_primary_owner_error")).to_have_text("This field is required.")
    assert _owners(identity) == {("alice", OwnerRole.PRIMARY)}
