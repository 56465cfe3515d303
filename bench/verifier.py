"""The resource-server verifier (tokens/verifier.py) on one core, in-process.

Target (issue #3): at least 8,000 verifications/s on one core. Measured twice: on distinct
tokens (every call checks a signature) and on a repeated token (the verifier's cache of
tokens it already verified, the common case of a client reusing its token).
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
from tokens.verifier import TokenVerifier

ISSUER, AUD = "https://nhi.example.com", "https://crm.example.com"
key = ec.generate_private_key(ec.SECP256R1())
jwks = {"keys": [{**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "alg": "ES256", "use": "sig"}]}
now = int(time.time())
def token():
    claims = {"iss": ISSUER, "sub": str(uuid.uuid4()), "aud": AUD, "client_id": "x", "scope": "contacts:read",
              "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": "k1", "typ": "at+jwt"})
N = 20000
tokens = [token() for _ in range(N)]
verifier = TokenVerifier(issuer=ISSUER, audience=AUD, http_get=lambda url: jwks, cache_size=N + 1)
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
