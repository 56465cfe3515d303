"""signing-keys/ is paged like every other list (the JWKS at /oauth/jwks.json is the
unpaged, standard one); security admins only."""

from tokens.keys import signing_keys_rotate

API = "/api/v1/signing-keys/"


def test_it_lists_the_keys_in_the_page_envelope(client_for, sam):
    signing_keys_rotate(actor=sam)
    body = client_for(sam).get(API).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == len(body["results"]) >= 1 and {k["state"] for k in body["results"]} >= {"active"}


def test_others_are_refused(client_for, alice, charlie):
    for person in (alice, charlie):
        assert client_for(person).get(API).status_code == 403


def test_the_schema_describes_the_page(client_for, sam):
    described = client_for(sam).get("/api/schema/", {"format": "json"}).json()
    answer = described["paths"]["/api/v1/signing-keys/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/PaginatedSigningKeyList"}
