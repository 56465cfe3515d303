"""Whoever reported a leak finds their report again under "Reported by me": when, what it did,
how it stands, that the owners were told; the identity is named (and the report opens) only
for a reporter who may see it."""

from django.contrib.auth import get_user_model

from tokens.exposures import exposure_confirm
from tokens.models import Exposure

MINE = "/exposures/mine/"


def report(client, token, where="build log #812"):
    return client.post("/exposures/report/", {"token": token, "where_found": where}, follow=True)


def test_a_reporter_without_rights_finds_their_report_and_learns_nothing_of_whose(client_for, charlie, agent, get_token):
    response = report(client_for(charlie), get_token(agent)["access_token"])
    assert response.redirect_chain[-1][0] == MINE
    html = response.content.decode()
    assert "Revoked: 1 token no longer works." in html and "build log #812" in html and "being handled" in html
    assert agent.identity.name not in html and str(agent.identity.pk) not in html
    exposure = Exposure.objects.get()
    assert f"/exposures/{exposure.pk}/" not in html and "not yours to see" in html
    # The report itself stays the owners' and the security team's.
    assert client_for(charlie).get(f"/exposures/{exposure.pk}/").status_code == 404


def test_the_reporter_sees_how_it_stands_once_decided(client_for, charlie, sam, agent, get_token):
    report(client_for(charlie), get_token(agent)["access_token"])
    exposure_confirm(actor=sam, exposure=Exposure.objects.get(), reason="Found in a public build log of ACME.")
    html = client_for(charlie).get(MINE).content.decode()
    assert "confirmed" in html and "being handled" not in html
    assert "ACME" not in html and agent.identity.name not in html  # the reason is for those who see the identity


def test_a_reporter_who_owns_the_identity_sees_it_named_and_opens_the_report(client_for, alice, agent, get_token):
    report(client_for(alice), get_token(agent)["access_token"])
    html = client_for(alice).get(MINE).content.decode()
    assert agent.identity.name in html and f"/exposures/{Exposure.objects.get().pk}/" in html


def test_each_person_sees_only_their_own_reports(client_for, charlie, bob, agent, make_agent, get_token):
    report(client_for(charlie), get_token(agent)["access_token"], where="charlie's find")
    report(client_for(bob), get_token(make_agent(name="other"))["access_token"], where="bob's find")
    charlie_page = client_for(charlie).get(MINE).content.decode()
    assert "charlie&#x27;s find" in charlie_page and "bob&#x27;s find" not in charlie_page
    nobody = client_for(get_user_model().objects.create_user(username="dora")).get(MINE)
    assert nobody.status_code == 200 and "You have reported no leak yet" in nobody.content.decode()


def test_the_report_pages_link_to_it(client_for, charlie, agent, get_token):
    client = client_for(charlie)
    assert f'href="{MINE}"' in client.get("/exposures/report/").content.decode()
    assert f'href="{MINE}"' not in client.get("/exposures/").content.decode()  # nothing reported yet
    report(client, get_token(agent)["access_token"])
    assert f'href="{MINE}"' in client.get("/exposures/").content.decode()


def test_it_needs_signing_in(client):
    response = client.get(MINE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
