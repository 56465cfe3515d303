def test_it_publishes_rfc8414_metadata(oauth, crm):
    response = oauth.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200 and response["Cache-Control"].startswith("public")
    metadata = response.json()
    assert metadata["issuer"] == "http://testserver"
    assert metadata["token_endpoint"] == "http://testserver/oauth/token"
    assert metadata["jwks_uri"] == "http://testserver/oauth/jwks.json"
    assert metadata["introspection_endpoint"] == "http://testserver/oauth/introspect"
    assert metadata["revocation_endpoint"] == "http://testserver/oauth/revoke"
    assert set(metadata["grant_types_supported"]) == {"client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"}
    assert metadata["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert "ES256" in metadata["token_endpoint_auth_signing_alg_values_supported"]
    assert "none" not in metadata["token_endpoint_auth_signing_alg_values_supported"]
    assert not any(alg.startswith("HS") for alg in metadata["token_endpoint_auth_signing_alg_values_supported"])
    assert metadata["authorization_details_types_supported"] == ["agent_task"]
    assert "tickets:read" in metadata["scopes_supported"]


def test_the_issuer_follows_the_setting(oauth, settings, db):
    settings.NHI = {**settings.NHI, "ISSUER": "https://nhi.example.com"}
    metadata = oauth.get("/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == "https://nhi.example.com"
    assert metadata["token_endpoint"] == "https://nhi.example.com/oauth/token"


def test_discovery_is_read_only(oauth, db):
    assert oauth.post("/.well-known/oauth-authorization-server").status_code == 405
    assert oauth.post("/oauth/jwks.json").status_code == 405
    assert oauth.get("/oauth/token").status_code == 405


def test_discovery_lists_every_algorithm_a_client_key_may_be_registered_for(oauth, db):
    # Each key is used with one algorithm, but an RSA key registered with "alg": "PS256" signs PS256.
    metadata = oauth.get("/.well-known/oauth-authorization-server").json()
    assert metadata["token_endpoint_auth_signing_alg_values_supported"] == ["ES256", "Ed25519", "EdDSA", "PS256", "RS256"]
