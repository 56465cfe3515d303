"""Closing an access review confirms on a page of its own: how many grants nobody decided, and
what closing does to them (revoked, if the round says so; else left as they are, missed)."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from tokens.access_reviews import access_review_decide, access_review_launch
from tokens.models import AccessReview, Grant
from tokens.services import service_create

pytestmark = pytest.mark.django_db


def close_url(review):
    return f"/access-reviews/{review.pk}/close/"


@pytest.fixture
def three(make_agent, bob, crm, grant):
    return [grant(make_agent(bob, name=f"reviewed-{n}"), crm, ["tickets:read"]) for n in range(3)]


def launch(sam, crm, **kwargs):
    return access_review_launch(actor=sam, name="Q4 CRM access", due=timezone.localdate() + timedelta(days=14), service=crm, **kwargs)


def test_the_review_page_links_to_the_confirmation_instead_of_closing_in_one_click(client_for, rita, sam, crm, three):
    review = launch(sam, crm)
    page = client_for(rita).get(f"/access-reviews/{review.pk}/").content.decode()
    assert f'href="{close_url(review)}">Close the review…</a>' in page
    assert f'action="{close_url(review)}"' not in page


def test_closing_a_round_that_revokes_nothing_says_the_undecided_grants_stay(client_for, rita, sam, crm, three):
    review = launch(sam, crm)
    access_review_decide(actor=rita, item=review.items.get(grant=three[0]), decision="keep")
    client = client_for(rita)

    page = client.get(close_url(review))

    assert page.status_code == 200
    html = page.content.decode()
    assert "2 grants still undecided</strong> stay on record as not reviewed (missed)" in html
    assert "this review does not revoke what nobody kept: 2 of them are still live and keep working" in html
    assert 'id="closing-revokes"' not in html and "csrfmiddlewaretoken" in html
    assert AccessReview.objects.get().is_open

    done = client.post(close_url(review))

    assert done.status_code == 302 and done["Location"] == f"/access-reviews/{review.pk}/"
    assert [str(m) for m in get_messages(done.wsgi_request)] == ["Closed: 1 kept, 0 revoked, 2 not reviewed (on record as missed; this round does not revoke them)."]
    assert not AccessReview.objects.get().is_open
    assert Grant.objects.filter(revoked_at__isnull=True).count() == 3


def test_closing_a_round_that_revokes_what_nobody_kept_says_so_prominently(client_for, rita, sam, crm, three):
    review = launch(sam, crm, revoke_unreviewed=True)
    access_review_decide(actor=rita, item=review.items.get(grant=three[0]), decision="revoke", reason="Pilot over")
    Grant.objects.filter(pk=three[1].pk).update(ends_at=timezone.now() - timedelta(minutes=1))  # ran out meanwhile
    client = client_for(rita)

    html = client.get(close_url(review)).content.decode()

    assert 'id="closing-revokes"' in html and "closing it now revokes 1 grant nobody decided" in html
    assert "2 grants still undecided</strong> are recorded as revoked" in html
    assert "1 of them, still live, is revoked now" in html
    assert Grant.objects.get(pk=three[2].pk).revoked_at is None

    client.post(close_url(review))

    assert Grant.objects.get(pk=three[2].pk).revoked_at is not None


def test_a_closed_review_is_told_not_closed_again(client_for, rita, sam, crm, three):
    review = launch(sam, crm)
    client = client_for(rita)
    client.post(close_url(review))
    for method in (client.get, client.post):
        response = method(close_url(review))
        assert response.status_code == 302
        assert "This review is closed already." in [str(m) for m in get_messages(response.wsgi_request)]


def test_only_reviewers_and_security_admins_see_the_confirmation(client_for, sam, alice, bob, carol, charlie, make_agent, crm, grant):
    wiki = service_create(actor=sam, name="Wiki", audience="https://wiki.example.com", owner=bob, trust_boundary="corp-internal",
                          scopes=[{"name": "pages:read", "description": "Read pages"}])
    grant(make_agent(alice), wiki, ["pages:read"])
    review = access_review_launch(actor=sam, name="Everything", due=timezone.localdate() + timedelta(days=14))
    # bob owns the Wiki: he sees the round and decides its grants, but does not close it.
    for person in (alice, bob, carol, charlie):
        client = client_for(person)
        assert client.get(close_url(review)).status_code == 403, person
        assert client.post(close_url(review)).status_code == 403, person
    assert "Close the review" not in client_for(bob).get(f"/access-reviews/{review.pk}/").content.decode()
    assert AccessReview.objects.get().is_open
    assert client_for(sam).get(close_url(review)).status_code == 200
