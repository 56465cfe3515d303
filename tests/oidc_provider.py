"""An OpenID Connect provider for the tests: a real HTTP server on loopback, standing in for
the organisation's Okta or Entra. It publishes discovery metadata and keys, answers the
authorization request for whoever `person` names, checks the client's secret and the PKCE
verifier at its token endpoint, and signs ID tokens with PyJWT (the portal checks them with
Authlib and joserfc, another JOSE library). It ends its session at its end_session_endpoint
(RP-initiated logout) and signs the logout tokens it would post to the portal (back-channel
logout)."""

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

CLIENT_ID = "nhi-portal"
CLIENT_SECRET = "provider-secret-for-tests"


class OIDCProvider:
    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid = "provider-key-1"
        # Who signs in at the provider next: the claims its ID token carries beyond the
        # protocol's own (iss, aud, exp, iat, nonce).
        self.person = {"sub": "00u-ada", "preferred_username": "ada", "email": "ada@example.com",
                       "email_verified": True, "given_name": "Ada", "family_name": "Lovelace"}
        self.refuse_with = None  # an OAuth error code the authorization answers with instead
        self.tamper = None  # a function changing the ID token's claims before signing
        self.signing_key = None  # another key to sign with (a forged token)
        self.published_issuer = None  # what the metadata says the issuer is, when not the truth
        self.authorizations = []  # the authorization requests received, as dicts
        self.ends_sessions = True  # publishes an end_session_endpoint
        self.sign_outs = []  # the RP-initiated logout requests received, as dicts
        self.key_fetches = 0  # how often its JWKS was asked for
        self.issues_sids = False  # its ID tokens carry a sid, a new provider session per sign-in
        self.sids = []  # the sids it put in ID tokens, in order
        self._codes = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.provider = self
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def settings(self, **overrides) -> dict:
        """The portal's SSO setting pointing at this provider."""
        return {
            "ISSUER": self.issuer, "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET, "NAME": "Example IdP",
            "SCOPE": "openid email profile", "ROLE_GROUPS": [], "GROUPS_CLAIM": "groups", "CREATE_PEOPLE": True,
            "NEW_PERSON_ROLES": ["owner"], **overrides,
        }

    def metadata(self) -> dict:
        return {
            "issuer": self.published_issuer or self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "code_challenge_methods_supported": ["S256"],
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": self.issues_sids,
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            **({"end_session_endpoint": f"{self.issuer}/end_session"} if self.ends_sessions else {}),
        }

    def end_session(self, query: dict) -> str:
        """Where the browser goes after the provider's session ends: back to the portal."""
        self.sign_outs.append(query)
        return query["post_logout_redirect_uri"]

    def logout_token(self, *, key=None, **claims) -> str:
        """A logout token as the provider would post it to the portal's back-channel logout URI,
        about `person`; claims given as None are left out."""
        now = int(time.time())
        body = {
            "iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 120, "jti": secrets.token_urlsafe(16),
            "sub": self.person["sub"], "sid": "provider-session-1",
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}}, **claims,
        }
        body = {name: value for name, value in body.items() if value is not None}
        return jwt.encode(body, key or self.key, algorithm="ES256", headers={"kid": self.kid, "typ": "logout+jwt"})

    def jwks(self) -> dict:
        jwk = ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "alg": "ES256", "use": "sig"}]}

    def authorize(self, query: dict) -> str:
        """Where the browser goes next: back to the portal with a code, or with an error."""
        self.authorizations.append(query)
        redirect_uri = query["redirect_uri"]
        if self.refuse_with:
            return f"{redirect_uri}?{urlencode({'error': self.refuse_with, 'error_description': 'The person said no', 'state': query.get('state', '')})}"
        code = secrets.token_urlsafe(16)
        self._codes[code] = {"query": query, "person": dict(self.person)}
        return f"{redirect_uri}?{urlencode({'code': code, 'state': query['state']})}"

    def token(self, form: dict, authorization: str) -> tuple[int, dict]:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != expected:
            return 401, {"error": "invalid_client"}
        issued = self._codes.pop(form.get("code", ""), None)  # a code is good once
        if issued is None or form.get("grant_type") != "authorization_code":
            return 400, {"error": "invalid_grant"}
        query = issued["query"]
        if form.get("redirect_uri") != query["redirect_uri"]:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if query.get("code_challenge_method") != "S256" or challenge != query.get("code_challenge"):
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": query.get("nonce"), **issued["person"]}
        if self.issues_sids:
            self.sids.append(f"provider-session-{len(self.sids) + 1}")
            claims["sid"] = self.sids[-1]
        if self.tamper:
            claims = self.tamper(claims)
        id_token = jwt.encode(claims, self.signing_key or self.key, algorithm="ES256", headers={"kid": self.kid})
        return 200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 300, "id_token": id_token}


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _json(self, status: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        provider = self.server.provider
        url = urlsplit(self.path)
        if url.path == "/.well-known/openid-configuration":
            return self._json(200, provider.metadata())
        if url.path == "/jwks":
            provider.key_fetches += 1
            return self._json(200, provider.jwks())
        if url.path == "/end_session":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            self.send_response(302)
            self.send_header("Location", provider.end_session(query))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if url.path == "/authorize":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            self.send_response(302)
            self.send_header("Location", provider.authorize(query))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return self._json(404, {"error": "not_found"})

    def do_POST(self):
        provider = self.server.provider
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if urlsplit(self.path).path != "/token":
            return self._json(404, {"error": "not_found"})
        status, body = provider.token(form, self.headers.get("Authorization", ""))
        return self._json(status, body)
