"""The resource-server verifier (tokens/verifier.py) on one core, in-process.

Target (issue #3): at least 8,000 verifications/s on one core. Measured twice: on distinct
tokens (every call checks a signature) and on a repeated token (the verifier's cache of
tokens it already verified, the common case of a client reusing its token). Each token
names its place in a status list, as the portal's do, so each call also checks revocation.
"""

import json
import subprocess
import sys

from . import harness

SCRIPT = r'''
import json, time, uuid
import django
django.setup()
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from tokens.status_list import TYP, encoded
from tokens.verifier import TokenVerifier

ISSUER, AUD = "https://nhi.example.com", "https://crm.example.com"
key = ec.generate_private_key(ec.SECP256R1())
jwks = {"keys": [{**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "alg": "ES256", "use": "sig"}]}
now = int(time.time())
N = 20000
LIST = ISSUER + "/oauth/status/0"
status_list = jwt.encode({"iss": ISSUER, "sub": LIST, "iat": now, "exp": now + 600, "ttl": 600,
                          "status_list": {"bits": 1, "lst": encoded(range(0, 2 * N, 194), 1 << 20)}},
                         key, algorithm="ES256", headers={"kid": "k1", "typ": TYP})
def token(i):
    claims = {"iss": ISSUER, "sub": str(uuid.uuid4()), "aud": AUD, "client_id": "x", "scope": "contacts:read",
              "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex,
              "status": {"status_list": {"idx": 2 * i + 1, "uri": LIST}}}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": "k1", "typ": "at+jwt"})
tokens = [token(i) for i in range(N)]
fetched = {ISSUER + "/oauth/jwks.json": json.dumps(jwks).encode(), LIST: status_list.encode()}
verifier = TokenVerifier(issuer=ISSUER, audience=AUD, http_get=fetched.__getitem__, cache_size=N + 1)
verifier.verify(tokens[0])
start = time.perf_counter()
for t in tokens[1:]:
    verifier.verify(t, scopes=("contacts:read",))
distinct = (N - 1) / (time.perf_counter() - start)
start = time.perf_counter()
for _ in range(N):
    verifier.verify(tokens[1], scopes=("contacts:read",))
cached = N / (time.perf_counter() - start)
print(json.dumps({"distinct tokens/s": round(distinct), "repeated token/s": round(cached), "n": N,
                  "target": ">= 8000/s on one core"}))
'''


def run(env: dict) -> dict:
    # taskset pins the process to one core, so the figure is per core.
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", SCRIPT], env=env, cwd=harness.ROOT,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])
