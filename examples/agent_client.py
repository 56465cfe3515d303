"""An agent talking to NHI Portal: a per-task token bound to its own key, used, then given back.

Only `requests`, PyJWT and cryptography; copy it into an agent and adapt. The registered key
(whose public half an owner put on the identity page) signs the client assertions; a second
key, made fresh by each run, binds the tokens (DPoP, RFC 9449), so a token copied out of a log
is of no use without it. Where the portal or a resource server hands out DPoP nonces (RFC 9449
sections 8 and 9), the agent puts the latest one from each server in its proofs, and retries
once when told `use_dpop_nonce`.

    agent = PortalAgent("https://nhi.example.com", client_id, registered_private_key, kid="deploy-2026")
    task = agent.token("https://crm.example.com", "tickets:read", intent="Summarise open tickets")
    response = agent.call("GET", "https://crm.example.com/api/tickets", task)
    agent.end_task(task)   # revokes every token of the task

An agent in GitHub Actions or Kubernetes whose identity has a federated credential holds no
key: it hands over its platform's token instead, asked for afresh at each request (a
Kubernetes projected token file is re-read; in GitHub Actions, ask ACTIONS_ID_TOKEN_REQUEST_URL
for a new one, since the portal accepts each of those once).

    agent = PortalAgent(portal_url, client_id, workload_token=lambda: open(TOKEN_FILE).read().strip())

The tests run this file against a live portal (tests/examples/test_agent_client.py).
"""

import base64
import hashlib
import json
import time
import urllib.parse
import uuid

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class PortalError(Exception):
    """An RFC 6749 error from the portal: `error` is the code, the message its description;
    `retry_after`, in seconds, when the portal says when to ask again (`slow_down`, 429)."""

    def __init__(self, body: dict, retry_after: int | None = None):
        super().__init__(body.get("error_description", ""))
        self.error = body.get("error", "")
        self.body = body
        self.retry_after = retry_after


class PortalAgent:
    def __init__(
        self, portal_url: str, client_id: str, private_key=None, *, kid: str = "", workload_token=None,
        session: requests.Session | None = None,
    ):
        if (private_key is None) == (workload_token is None):
            raise ValueError("Give the registered private key (and its kid), or workload_token: not both.")
        self.client_id, self.private_key, self.kid, self.workload_token = client_id, private_key, kid, workload_token
        self.http = session or requests.Session()
        self.metadata = self.http.get(portal_url.rstrip("/") + "/.well-known/oauth-authorization-server", timeout=10).json()
        self.dpop_key = ec.generate_private_key(ec.SECP256R1())  # never leaves this process
        self.dpop_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.dpop_key.public_key()))
        self.nonces: dict[str, str] = {}  # origin -> the DPoP nonce it last handed out

    def _assertion(self, audience: str) -> str:
        if self.workload_token:  # the platform's own token: its issuer signed it for the portal's audience
            return self.workload_token()
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": audience, "iat": now, "exp": now + 120, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self.private_key, algorithm="ES256", headers={"kid": self.kid})

    @staticmethod
    def _origin(url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    def _proof(self, method: str, url: str, access_token: str | None = None) -> str:
        claims = {"htm": method, "htu": url, "iat": int(time.time()), "jti": uuid.uuid4().hex}
        if access_token is not None:
            claims["ath"] = _b64(hashlib.sha256(access_token.encode()).digest())
        nonce = self.nonces.get(self._origin(url))
        if nonce is not None:
            claims["nonce"] = nonce
        return jwt.encode(claims, self.dpop_key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": self.dpop_jwk})

    @staticmethod
    def _wants_nonce(response: requests.Response) -> bool:
        """use_dpop_nonce: in the JSON body from the portal (RFC 9449 section 8), in the
        challenge from a resource server (section 9)."""
        if "DPoP-Nonce" not in response.headers:
            return False
        if response.status_code == 401:
            return 'error="use_dpop_nonce"' in response.headers.get("WWW-Authenticate", "")
        try:
            return response.status_code == 400 and response.json().get("error") == "use_dpop_nonce"
        except ValueError:
            return False

    def _send(self, send, url: str, *, proof: bool) -> requests.Response:
        """send(): one attempt. A server asking for a DPoP nonce gets one more, with its nonce."""
        response = self._keep_nonce(url, send())
        if proof and self._wants_nonce(response):
            response = self._keep_nonce(url, send())
        return response

    def _keep_nonce(self, url: str, response: requests.Response) -> requests.Response:
        if "DPoP-Nonce" in response.headers:
            self.nonces[self._origin(url)] = response.headers["DPoP-Nonce"]
        return response

    def _post(self, endpoint: str, data: dict, *, proof: bool = False) -> dict:
        url = self.metadata[endpoint]

        def send():
            # A new assertion and proof each attempt: the portal accepts each assertion only once.
            signed = {
                **data, "client_id": self.client_id,
                "client_assertion_type": ASSERTION_TYPE, "client_assertion": self._assertion(url),
            }
            headers = {"DPoP": self._proof("POST", url)} if proof else {}
            return self.http.post(url, data=signed, headers=headers, timeout=10)

        response = self._send(send, url, proof=proof)
        body = response.json() if response.content else {}
        if response.status_code != 200:
            retry_after = response.headers.get("Retry-After", "")
            raise PortalError(body, int(retry_after) if retry_after.isdigit() else None)
        return body

    def token(self, resource: str, scope: str, *, intent: str, sensitivity: str = "internal", actions=("read",)) -> dict:
        """A token for a new task on one service: access_token, token_type "DPoP", task_id, ..."""
        details = [{"type": "agent_task", "intent": intent, "actions": list(actions), "sensitivity": sensitivity}]
        return self._post(
            "token_endpoint",
            {"grant_type": "client_credentials", "resource": resource, "scope": scope, "authorization_details": json.dumps(details)},
            proof=True,
        )

    def call(self, method: str, url: str, task_token: dict, **kwargs) -> requests.Response:
        """Call a resource server with the token, and a fresh proof for this very request."""
        access_token = task_token["access_token"]
        extra_headers = kwargs.pop("headers", {})
        bound = task_token["token_type"] == "DPoP"

        def send():
            headers = {**extra_headers, "Authorization": f"{task_token['token_type']} {access_token}"}
            if bound:
                headers["DPoP"] = self._proof(method, url, access_token)
            return self.http.request(method, url, headers=headers, timeout=10, **kwargs)

        return self._send(send, url, proof=bound)

    def end_task(self, task_token: dict, reason: str = "Done.") -> dict:
        """The task is over: the portal revokes all its tokens (and its sub-tasks')."""
        return self._post("task_end_endpoint", {"task_id": task_token["task_id"], "reason": reason})
