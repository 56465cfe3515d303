"""A person who sees no identity yet gets one place to start on the dashboard, not a wall of zero
bars and "every identity has an active owner" said of nothing."""

from django.urls import reverse

DASHBOARD = reverse("inventory:dashboard")


def test_it_points_an_owner_with_no_identity_to_registering_one(alice, client_for):
    html = client_for(alice).get(DASHBOARD).content.decode()
    assert "No identities you can see yet" in html
    assert f'class="btn btn-primary" href="{reverse("inventory:identity-register")}"' in html
    assert "Chart of identities by status" not in html and "Every identity has an active owner" not in html


def test_it_offers_no_register_button_to_those_who_may_not_register(charlie, client_for):
    html = client_for(charlie).get(DASHBOARD).content.decode()
    assert "No identities you can see yet" in html
    assert reverse("inventory:identity-register") not in html


def test_it_shows_the_charts_once_there_is_an_identity(alice, client_for, make_identity):
    make_identity(alice)
    html = client_for(alice).get(DASHBOARD).content.decode()
    assert "Chart of identities by status" in html and "No identities you can see yet" not in html
