"""An identity's audit trail through the API: GET /identities/{id}/history/."""

from django.urls import reverse

from inventory.services import identity_activate, identity_suspend
from nhiportal.api import UNKNOWN_PARAMETER


def history_url(identity):
    return reverse("api:identity-history", args=[identity.pk])


def test_it_lists_the_identitys_events_newest_first(alice, client_for, make_identity):
    identity = make_identity(alice)
    make_identity(alice)  # another identity's events stay out
    identity_activate(actor=alice, identity=identity)
    identity_suspend(actor=alice, identity=identity, reason="Odd traffic")
    events = client_for(alice).get(history_url(identity)).json()["results"]
    assert {e["identity_id"] for e in events} == {str(identity.pk)}
    actions = [e["action"] for e in events if e["action"].startswith("identity.")]
    assert actions == ["identity.suspend", "identity.activate", "identity.register"]
    assert events[0]["reason"] == "Odd traffic"
    assert events[0]["after"] == {"status": "suspended"}
    assert "hmac" not in events[0]


def test_it_shows_history_to_reviewers(alice, rita, client_for, make_identity):
    identity = make_identity(alice)
    body = client_for(rita).get(history_url(identity)).json()
    assert "identity.register" in [e["action"] for e in body["results"]]


def test_it_hides_history_from_an_outsider_with_a_404(alice, charlie, client_for, make_identity):
    identity = make_identity(alice)
    assert client_for(charlie).get(history_url(identity)).status_code == 404


def test_it_refuses_the_identity_lists_filters_on_history(alice, client_for, make_identity):
    # Not applied to find the identity, nor ignored: history does not take them.
    identity = make_identity(alice)
    response = client_for(alice).get(history_url(identity), {"status": "nonsense"})
    assert response.status_code == 400
    assert response.json() == {"status": [UNKNOWN_PARAMETER]}
