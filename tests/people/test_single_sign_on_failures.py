"""Single sign-on when the provider misbehaves, or the browser goes back: a reason on the
sign-in page, the right status, and a provider that recovers is used again at once."""

import pytest
from django.test import Client

from tests.people.test_single_sign_on import _at_provider, _start, sign_in, signed_in_as

pytestmark = pytest.mark.django_db


def test_a_discovery_document_served_wrong_once_does_not_refuse_sign_ins_after_it_is_fixed(oidc_provider):
    oidc_provider.published_issuer = "https://impostor.example"
    assert _start(Client()).status_code == 502
    oidc_provider.published_issuer = None  # the provider's operators fixed it: no portal restart
    client = Client()
    assert sign_in(client).status_code == 302 and signed_in_as(client) == "ada"


def test_a_discovery_document_without_a_token_endpoint_is_reported_and_fetched_again(oidc_provider):
    metadata = oidc_provider.metadata
    oidc_provider.metadata = lambda: {k: v for k, v in metadata().items() if k != "token_endpoint"}
    response = _start(Client())
    assert response.status_code == 502 and b"Example IdP could not be reached" in response.content
    oidc_provider.metadata = metadata
    assert _start(Client()).status_code == 302


@pytest.mark.parametrize("status, body", [(500, {"error": "server_error"}), (503, {}), (400, {"error": "temporarily_unavailable"})])
def test_a_token_endpoint_that_fails_says_the_provider_could_not_be_reached(oidc_provider, status, body):
    oidc_provider.token = lambda form, authorization: (status, body)
    client = Client()
    response = sign_in(client)
    assert response.status_code == 502 and b"Example IdP could not be reached. Try again in a moment." in response.content
    assert signed_in_as(client) is None


def test_pressing_back_to_a_used_callback_while_signed_in_goes_on_to_the_portal(oidc_provider):
    client = Client()
    back = _at_provider(_start(client))
    assert client.get(back).status_code == 302
    again = client.get(back)
    assert again.status_code == 302 and signed_in_as(client) == "ada"
