"""The frame every page shares keeps its shape at a laptop's width: a long name in the crumbs
does not push the account links onto a second line, and a filter form's boxes stay level
whatever help a field has under it."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LAPTOP = {"width": 1366, "height": 900}


def test_a_long_name_in_the_crumbs_leaves_the_account_links_on_one_line(page, login, sam, make_identity):
    identity = make_identity(sam, name="customer-support-ticket-summariser-production-eu-west-1-canary-with-a-very-long-name")
    page.set_viewport_size(LAPTOP)
    login(page, sam)
    page.goto(f"/identities/{identity.pk}/")
    me = page.locator("header.topbar .me")
    tokens, log_out = me.get_by_role("link", name="API tokens"), me.get_by_role("button", name="Log out")
    assert tokens.bounding_box()["y"] == log_out.bounding_box()["y"]
    crumbs = page.locator("header.topbar .crumbs")
    assert crumbs.evaluate("c => c.scrollWidth > c.clientWidth")  # cut short, with an ellipsis
    assert page.locator("main h1").inner_text() == identity.name  # the heading says it in full


def test_a_filter_rows_boxes_and_button_stay_level_when_a_field_has_help_under_it(page, login, rita):
    page.set_viewport_size(LAPTOP)
    login(page, rita)
    page.goto("/audit/")
    form = page.locator("main form.filters")
    assert form.locator(".field .help").count() >= 1  # the identity box explains what it takes
    boxes = form.locator(".field > input, .field > select").evaluate_all("els => els.map(e => e.getBoundingClientRect())")
    first_row = [b for b in boxes if abs(b["y"] - boxes[0]["y"]) < 40]
    assert len(first_row) > 2 and {round(b["y"]) for b in first_row} == {round(boxes[0]["y"])}
    button = form.get_by_role("button", name="Filter").bounding_box()
    row_of_button = [b for b in boxes if b["y"] <= button["y"] + button["height"] <= b["y"] + b["height"] + 2]
    assert row_of_button, "the Filter button is level with the boxes of its row"
