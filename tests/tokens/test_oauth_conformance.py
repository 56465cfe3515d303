"""The OAuth endpoints hold to the letter of RFC 6749, 8693 and 9110 where a client may lean on
it: each parameter once, a missing one named as missing, scopes and ttl as their grammar
writes them, and every answer (a wrong method, a body Django cannot read, an HTTP
authentication scheme) an RFC 6749 section 5.2 JSON error with Cache-Control: no-store."""

import json
import re
import uuid
from urllib.parse import urlencode

import pytest
from django.test import Client

from tokens.models import IssuedToken
from tokens.services import service_create

from .conftest import ASSERTION_TYPE, CRM, TASK, token_request
from .test_introspection import crm_server  # noqa: F401  (fixture)
from .test_token_exchange import ACCESS_TOKEN, EXCHANGE, exchange

pytestmark = pytest.mark.django_db

POST_ENDPOINTS = ["/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/task/end"]
FORM = "application/x-www-form-urlencoded"


def assert_oauth_error(response, error, status=400):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json" and response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == error and body["error_description"], body
    return body["error_description"]


def post_form(client, url, pairs, **extra):
    """A form-encoded body written out pair by pair, so a parameter can appear twice."""
    return client.post(url, urlencode(pairs), content_type=FORM, **extra)


@pytest.fixture
def ready(agent, crm, grant, crm_server):  # noqa: F811
    """Each POST endpoint's parameters, valid, with a fresh assertion for its caller."""
    grant(agent, crm, ["tickets:read"])

    def params(url):
        if url == "/oauth/introspect":
            auth = [("client_assertion_type", ASSERTION_TYPE), ("client_assertion", crm_server.assertion())]
            return [("token", "not-a-token"), ("client_id", CRM), *auth]
        auth = [("client_assertion_type", ASSERTION_TYPE), ("client_assertion", agent.assertion(aud=f"http://testserver{url}")),
                ("client_id", agent.client_id)]
        if url == "/oauth/token":
            return [("grant_type", "client_credentials"), ("resource", CRM), ("scope", "tickets:read"),
                    ("authorization_details", json.dumps(TASK)), *auth]
        if url == "/oauth/task/end":
            return [("task_id", str(uuid.uuid4())), *auth]
        return [("token", "not-a-token"), *auth]

    return params


# RFC 6749 section 3.2: "Request and response parameters MUST NOT be included more than once."

@pytest.mark.parametrize("url", POST_ENDPOINTS)
@pytest.mark.parametrize("name", ["client_assertion", "client_assertion_type", "client_id"])
def test_it_refuses_a_repeated_client_authentication_parameter(oauth, ready, url, name):
    pairs = ready(url)
    repeated = next(pair for pair in pairs if pair[0] == name)
    if name == "client_assertion":
        pairs = [(name, "not-even-a-jwt") if pair == repeated else pair for pair in pairs] + [repeated]  # the last one is good
    else:
        pairs.append(repeated)  # the same value twice
    description = assert_oauth_error(post_form(oauth, url, pairs), "invalid_request")
    assert description == f"The {name} parameter must not repeat."
    assert not IssuedToken.objects.exists()


def test_it_refuses_a_repeated_actor_token(agent, oauth, get_token):
    held = get_token(agent)["access_token"]
    pairs = [("grant_type", EXCHANGE), ("subject_token", held), ("subject_token_type", ACCESS_TOKEN),
             ("actor_token", "someone-elses-token"), ("actor_token", "another-token"),
             ("client_assertion_type", ASSERTION_TYPE), ("client_assertion", agent.assertion())]
    description = assert_oauth_error(post_form(oauth, "/oauth/token", pairs), "invalid_request")
    assert description == "The actor_token parameter must not repeat."
    assert IssuedToken.objects.count() == 1


# RFC 6749 section 3.2: "Parameters sent without a value MUST be treated as if they were omitted
# from the request."

def test_a_parameter_sent_without_a_value_counts_as_omitted(agent, oauth, get_token):
    held = get_token(agent)["access_token"]
    pairs = [("grant_type", EXCHANGE), ("subject_token", held), ("subject_token_type", ACCESS_TOKEN),
             ("requested_token_type", ""), ("actor_token", ""), ("actor_token_type", ""), ("resource", ""),
             ("audience", CRM), ("ttl", ""), ("authorization_details", ""),
             ("client_assertion_type", ASSERTION_TYPE), ("client_assertion", agent.assertion())]
    response = post_form(oauth, "/oauth/token", pairs)
    assert response.status_code == 200, response.content
    assert IssuedToken.objects.count() == 2


def test_an_empty_parameter_beside_the_same_one_with_a_value_is_no_repeat(agent, oauth, crm, grant):
    grant(agent, crm, ["tickets:read"])
    pairs = [("grant_type", "client_credentials"), ("scope", ""), ("scope", "tickets:read"), ("resource", CRM),
             ("authorization_details", json.dumps(TASK)),
             ("client_assertion_type", ASSERTION_TYPE), ("client_assertion", agent.assertion())]
    response = post_form(oauth, "/oauth/token", pairs)
    assert response.status_code == 200 and response.json()["scope"] == "tickets:read", response.content


def test_a_required_parameter_sent_empty_is_missing(agent, oauth):
    response = exchange(oauth, agent, "")
    assert assert_oauth_error(response, "invalid_request") == "subject_token is required."


# RFC 6749 section 5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ): no quote, no
# backslash, nothing beyond ASCII, even where the description quotes what the client sent.

@pytest.mark.parametrize("details", [
    [{"type": "agent_task", "intent": "x", 'f\u00f6"o\\': 1}],  # a field name the portal names back
    '["\\q"]',  # a parser message quoting the escape it stopped at
    '["\\u0000"]',
])
def test_an_error_description_holds_only_the_characters_rfc6749_allows(agent, oauth, crm, grant, details):
    grant(agent, crm, ["tickets:read"])
    raw = details if isinstance(details, str) else json.dumps(details, ensure_ascii=False)
    description = assert_oauth_error(token_request(oauth, agent, authorization_details=raw), "invalid_authorization_details")
    assert re.fullmatch(r"[\x20\x21\x23-\x5B\x5D-\x7E]+", description), description


# RFC 7523 section 3 lets the server refuse a replayed jti; the portal accepts each assertion
# once, whatever its request came to (ARCHITECTURE.md: "jti never reused").

@pytest.mark.parametrize("bad", [{"ttl": "x"}, {"scope": "tickets:read\tother"}, {"authorization_details": "{"},
                                 {"resource": "https://nowhere.example"}])
def test_an_assertion_is_spent_by_a_request_refused_after_it_authenticated(agent, oauth, crm, grant, bad):
    grant(agent, crm, ["tickets:read"])
    assertion = agent.assertion()
    assert token_request(oauth, agent, assertion=assertion, **bad).status_code == 400
    again = token_request(oauth, agent, assertion=assertion)
    assert assert_oauth_error(again, "invalid_client", status=401) == "This client assertion was already used (jti replay)."
    assert not IssuedToken.objects.exists()


def test_an_assertion_is_spent_by_an_exchange_of_an_unusable_subject_token(agent, oauth, get_token):
    get_token(agent)
    assertion = agent.assertion()
    refused = exchange(oauth, agent, "abc.def.ghi", client_assertion=assertion)
    assert assert_oauth_error(refused, "invalid_request") == "The subject_token is not a live access token of this portal."
    again = token_request(oauth, agent, assertion=assertion)
    assert assert_oauth_error(again, "invalid_client", status=401) == "This client assertion was already used (jti replay)."
    assert IssuedToken.objects.count() == 1


# RFC 8707 section 2 and RFC 8693 section 2.2.2: a target the server will not issue for is
# invalid_target, whether it is missing, unknown or one of several.

@pytest.mark.parametrize("destination", [{"resource": None}, {"audience": [CRM, CRM]}, {"audience": [CRM, "https://other.example"]}])
def test_a_destination_missing_or_repeated_is_invalid_target(agent, oauth, crm, grant, destination):
    grant(agent, crm, ["tickets:read"])
    if destination.get("audience"):
        destination = {"resource": None, **destination}
    response = token_request(oauth, agent, **destination)
    assert_oauth_error(response, "invalid_target")
    assert not IssuedToken.objects.exists()


# RFC 8693 section 2.1: actor_token_type "is REQUIRED when the actor_token parameter is present
# in the request but MUST NOT be included otherwise."

def test_it_refuses_an_actor_token_type_without_an_actor_token(agent, oauth, get_token):
    held = get_token(agent)["access_token"]
    response = exchange(oauth, agent, held, actor_token_type=ACCESS_TOKEN)
    assert assert_oauth_error(response, "invalid_request") == "actor_token_type goes only with an actor_token."
    assert IssuedToken.objects.count() == 1


# RFC 6749 section 5.2: invalid_request when "the request is missing a required parameter";
# unsupported_grant_type when the grant type named is not supported.

def test_a_missing_grant_type_is_invalid_request(agent, oauth, crm, grant):
    grant(agent, crm, ["tickets:read"])
    assert_oauth_error(token_request(oauth, agent, grant_type=None), "invalid_request")
    assert_oauth_error(token_request(oauth, agent, grant_type=""), "invalid_request")
    assert_oauth_error(token_request(oauth, agent, grant_type="password"), "unsupported_grant_type")


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_a_body_that_is_not_form_encoded_is_invalid_request(agent, oauth, crm, grant, content_type):
    grant(agent, crm, ["tickets:read"])
    body = {"grant_type": "client_credentials", "resource": CRM, "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": agent.assertion()}
    response = oauth.post("/oauth/token", json.dumps(body), content_type=content_type)
    assert "form-encoded" in assert_oauth_error(response, "invalid_request")


# Bodies Django refuses to parse: it raises on the first read of request.POST.

def many_fields(settings):
    return "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)).encode(), FORM


def latin_1_form(settings):
    return "grant_type=client_credentials&token=caf\xe9".encode("latin-1"), f"{FORM}; charset=latin-1"


def too_large_form(settings):
    return b"token=" + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1), FORM


def multipart_without_boundary(settings):
    return b"--x\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\nx\r\n--x--\r\n", "multipart/form-data"


@pytest.mark.parametrize("debug", [False, True], ids=["DEBUG=False", "DEBUG=True"])
@pytest.mark.parametrize("url", POST_ENDPOINTS)
@pytest.mark.parametrize("body", [
    many_fields,
    latin_1_form,
    too_large_form,
    multipart_without_boundary,
])
def test_a_body_django_cannot_parse_is_invalid_request(settings, url, body, debug):
    settings.DEBUG = debug
    data, content_type = body(settings)
    response = Client(raise_request_exception=False).generic("POST", url, data, content_type=content_type)
    assert_oauth_error(response, "invalid_request")


# RFC 9110 section 15.5.6: a 405 carries Allow; the OAuth endpoints answer in JSON all the same.

@pytest.mark.parametrize("url", POST_ENDPOINTS)
@pytest.mark.parametrize("method", ["get", "put", "delete", "options", "patch"])
def test_another_method_on_a_post_endpoint_is_405_in_json(oauth, url, method):
    response = getattr(oauth, method)(url)
    assert_oauth_error(response, "invalid_request", status=405)
    assert response["Allow"] == "POST"


# RFC 9110 section 9.1: "All general-purpose servers MUST support the methods GET and HEAD."

def test_the_published_documents_answer_head(agent, get_token, oauth):
    get_token(agent)  # so that status list 0 exists
    for url in ("/.well-known/oauth-authorization-server", "/oauth/jwks.json", "/oauth/status", "/oauth/status/0"):
        head = oauth.head(url)
        assert head.status_code == 200 and head.content == b"", url
        assert head["Content-Type"] == oauth.get(url)["Content-Type"], url
        assert oauth.post(url).status_code == 405, url


# RFC 6749 section 3.3: scope = scope-token *( SP scope-token ); scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).

@pytest.mark.parametrize("scope", ["tickets:read\ttickets:write", "tickets:read\ntickets:write", "tickets:read\u00a0tickets:write",
                                   'tickets:"read"', "tickets:read\\", "tickets:réad"],
                         ids=["tab", "line feed", "no-break space", "quotes", "backslash", "beyond ASCII"])
def test_a_scope_with_characters_outside_the_grammar_is_invalid_scope(agent, oauth, crm, grant, scope):
    grant(agent, crm, ["tickets:read", "tickets:write"])
    description = assert_oauth_error(token_request(oauth, agent, scope=scope), "invalid_scope")
    assert "separated by spaces" in description
    assert not IssuedToken.objects.exists()


def test_every_scope_name_a_service_may_register_can_be_asked_for(agent, oauth, grant, sam):
    # The characters tokens/services.py's SCOPE_TOKEN takes, in two names (a name holds 80 at most).
    allowed = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\')
    names = [allowed[:46], allowed[46:]]
    odd = service_create(actor=sam, name="Odd", audience="https://odd.example.com", owner=sam, scopes=names)
    grant(agent, odd, names)
    response = token_request(oauth, agent, resource=odd.audience, scope="  ".join(names) + " ")
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == " ".join(names)


# ttl is seconds written in ASCII digits, no more: int() takes much else.

@pytest.mark.parametrize("ttl", [" 60 ", "+60", "6_0", "\u0663\u0660", "６０", "60.0", "-60", "0", "9" * 5000],
                         ids=["spaces", "plus", "underscore", "Arabic-Indic digits", "fullwidth digits", "decimal", "negative",
                              "zero", "5000 digits"])
def test_a_ttl_that_is_not_ascii_digits_is_invalid_request(agent, oauth, crm, grant, ttl):
    grant(agent, crm, ["tickets:read"])
    assert "ttl" in assert_oauth_error(token_request(oauth, agent, ttl=ttl), "invalid_request")
    assert not IssuedToken.objects.exists()


def test_a_ttl_in_ascii_digits_is_taken(agent, oauth, crm, grant):
    grant(agent, crm, ["tickets:read"])
    response = token_request(oauth, agent, ttl="060")
    assert response.status_code == 200 and 58 <= response.json()["expires_in"] <= 60


# RFC 6749 section 5.2: "If the client attempted to authenticate via the "Authorization" request
# header field, the authorization server MUST respond with an HTTP 401 (Unauthorized) status code
# and include the "WWW-Authenticate" response header field matching the authentication scheme used
# by the client." The portal takes private_key_jwt only, so such a client is refused.

@pytest.mark.parametrize("url", POST_ENDPOINTS)
@pytest.mark.parametrize("authorization, scheme", [("Basic YWdlbnQ6c2VjcmV0", "Basic"), ("Bearer abc", "Bearer"),
                                                   ("DPoP abc", "DPoP"), ('x"y abc', "Basic")],
                         ids=["Basic", "Bearer", "DPoP", "no scheme token"])
def test_a_client_authenticating_with_the_authorization_header_gets_a_challenge_in_its_scheme(oauth, ready, url, authorization, scheme):
    response = post_form(oauth, url, ready(url), HTTP_AUTHORIZATION=authorization)
    assert "Authorization header" in assert_oauth_error(response, "invalid_client", status=401)
    assert response["WWW-Authenticate"] == f'{scheme} realm="http://testserver"'
    assert not IssuedToken.objects.exists()


def test_without_the_authorization_header_there_is_no_challenge(oauth, ready):
    # The requests above, without the header: answered on their merits (a made-up task_id is
    # invalid_request), so the header alone made the difference.
    answers = {url: post_form(oauth, url, ready(url)) for url in POST_ENDPOINTS}
    assert {url: r.status_code for url, r in answers.items()} == {
        "/oauth/token": 200, "/oauth/revoke": 200, "/oauth/introspect": 200, "/oauth/task/end": 400,
    }
    assert not any("WWW-Authenticate" in r for r in answers.values())


def test_a_revocation_answers_200_with_an_empty_body_and_no_content_type(agent, oauth, get_token):
    # RFC 7009 section 2.2: the body is nothing; a text/html type would promise a page.
    token = get_token(agent)["access_token"]
    for _ in range(2):  # revoked, then already revoked: the same answer
        response = oauth.post("/oauth/revoke", {"token": token, **agent.auth()})
        assert response.status_code == 200 and response.content == b""
        assert "Content-Type" not in response and response["Cache-Control"] == "no-store"
