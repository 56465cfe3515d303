"""Public keys other parties register with the portal: agents' JWKs, trust-domain bundles,
services' introspection keys. Validated once on the way in, parsed once per process.

Only asymmetric public keys are accepted: EC P-256 (ES256), Ed25519 (EdDSA) and RSA of
2048 bits or more (RS256, PS256). Anything carrying a private part is refused before it
can be stored, with an error that says so and never echoes the key.

Each key verifies under exactly one algorithm (RFC 8725 section 3.1): the one its JWK names
in "alg", else its type's default (RS256 for RSA). An RSA key signs PS256 only when its JWK
says "alg": "PS256".
"""

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from nhiportal import json_input

PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
PUBLIC_MEMBERS = {
    "EC": ("kty", "crv", "x", "y"),
    "OKP": ("kty", "crv", "x"),
    "RSA": ("kty", "e", "n"),
}
# What a key of each type may name as its "alg" (and so what the portal verifies at all).
ALGORITHMS = {"EC": ("ES256",), "OKP": ("EdDSA", "Ed25519"), "RSA": ("RS256", "PS256")}
# The one algorithm of a key whose JWK names none. RS256 for RSA: what JWT libraries sign with
# an RSA key unless told otherwise. Stored keys are left as they were registered: one without
# alg, taken under both RSA algorithms before this rule, now verifies RS256 only (a data
# migration could not know which of the two an agent signs with).
DEFAULT_ALGORITHM = {"EC": "ES256", "OKP": "EdDSA", "RSA": "RS256"}
# For an Ed25519 key, "EdDSA" and RFC 9864's "Ed25519" name the same signature: one algorithm, two names.
SAME_ALGORITHM = {"EdDSA": ("EdDSA", "Ed25519"), "Ed25519": ("EdDSA", "Ed25519")}
MIN_RSA_BITS = 2048
PRIVATE_KEY_REFUSED = (
    "This is a private key. Paste the public key only; nothing was stored. "
    "Treat the private key you pasted as exposed and replace it."
)


# Members of an X.509 authority entry in a SPIFFE bundle that a trust domain publishes:
# what is kept of it (nothing secret, nothing the portal does not read).
X509_MEMBERS = ("kty", "crv", "x", "y", "e", "n", "kid", "use", "x5c")
_PRIVATE_MEMBER_TEXT = re.compile(r'"(?:%s)"\s*:' % "|".join(PRIVATE_MEMBERS))


def has_private_members(data) -> bool:
    """Whether a parsed JWK or JWKS carries a private part anywhere (a bundle's keys included).
    Without a stack of calls: a DPoP proof's jwk may be nested as deep as the JSON reader allows."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if any(m in item for m in PRIVATE_MEMBERS):
                return True
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def looks_private(text) -> bool:
    """Whether pasted text holds a private key, even text the parsers refuse for another reason
    (invalid JSON, a bundle where one key was asked for): such text is never sent back."""
    if not isinstance(text, str):
        return has_private_members(text)
    if "PRIVATE KEY-----" in text:
        return True
    try:
        return has_private_members(json_input.loads(text))
    except ValueError:
        return bool(_PRIVATE_MEMBER_TEXT.search(text))


@dataclass(frozen=True)
class PublicKey:
    jwk: dict  # public members (canonical, RFC 7638), plus kid, alg and use when given
    key: object  # the cryptography public key, ready for PyJWT
    algorithms: tuple[str, ...]  # the names of its one algorithm (two for EdDSA, one otherwise)
    thumbprint: str  # RFC 7638

    @property
    def kid(self) -> str:
        return self.jwk.get("kid", "")

    @property
    def algorithm(self) -> str:
        return self.algorithms[0]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_thumbprint(jwk: dict) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, no whitespace."""
    members = {name: jwk[name] for name in PUBLIC_MEMBERS[jwk["kty"]]}
    return _b64(hashlib.sha256(json.dumps(members, sort_keys=True, separators=(",", ":")).encode()).digest())


# What a leak report reads: a 4096-bit RSA key's PEM is about 3,300 characters. Longer pastes
# are refused before any parsing, so nothing quadratic or costly runs on a pasted megabyte.
MAX_PASTED = 16_384
# An RSA key's private exponent is checked with one modular exponentiation in Python: about
# 0.2 s at 4096 bits, 2 s at 8192. Larger keys are not read from a paste.
MAX_REPORTED_RSA_BITS = 8192
_PEM_LABEL = re.compile(r"[A-Z0-9 ]{0,40}PRIVATE KEY")
TOO_LONG_TO_BE_A_KEY = f"This is longer than any key or token ({MAX_PASTED:,} characters at most): paste only the key or token."
UNREADABLE_PRIVATE_KEY = "This looks like a private key, but it cannot be read: paste the whole PEM block or JWK as found."
ENCRYPTED_PRIVATE_KEY = (
    "This private key is encrypted, so the portal cannot tell which key it is. "
    "If you know whose it is, ask its owners to report it on the identity's page."
)


def _b64_int(value) -> int:
    return int.from_bytes(_b64_bytes(value), "big")


def _b64_bytes(value) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _private_pem_block(text: str) -> tuple[str, str] | None:
    """(label, block) of the first PEM private key block in text, found by plain searches (a
    regular expression over a long paste could take quadratic time)."""
    start = text.find("-----BEGIN ")
    while start != -1:
        label_end = text.find("-----", start + 11)
        if label_end == -1:
            return None
        label = text[start + 11:label_end]
        if _PEM_LABEL.fullmatch(label):
            marker = f"-----END {label}-----"
            end = text.find(marker, label_end)
            return (label, text[start:end + len(marker)]) if end != -1 else None
        start = text.find("-----BEGIN ", label_end)
    return None


def _private_from_jwk(data: dict):
    """The private key a JWK holds, built from its private part alone; for RSA its (n, e, d),
    checked by _rsa_thumbprint; None for a key type no credential can have (a symmetric key,
    another curve)."""
    kty = data.get("kty")
    if kty == "EC" and data.get("crv") == "P-256":
        return ec.derive_private_key(_b64_int(data["d"]), ec.SECP256R1())
    if kty == "OKP" and data.get("crv") == "Ed25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(_b64_bytes(data["d"]))
    if kty == "RSA":
        # Never built as a cryptography key: with d alone it would recover the factors from
        # whatever n and d were pasted, which a crafted pair makes last hours.
        return (_b64_int(data["n"]), _b64_int(data["e"]), _b64_int(data["d"]))
    return None


def _private_from_pem(block: str):
    # RSA keys are not validated as they load (a crafted one can make that slow): only their
    # n, e and d are used, and checked by _rsa_thumbprint.
    if block.startswith("-----BEGIN OPENSSH PRIVATE KEY-----"):
        return serialization.load_ssh_private_key(block.encode(), password=None, unsafe_skip_rsa_key_validation=True)
    return serialization.load_pem_private_key(block.encode(), password=None, unsafe_skip_rsa_key_validation=True)


def _rsa_thumbprint(n: int, e: int, d: int, registered) -> str | None:
    """The thumbprint of (n, e) if d is its private exponent. Only a registered key is worth
    the check (one modular exponentiation): an unregistered one is answered by its thumbprint,
    which names no credential. A d that turns a random m^e back into m holds the key: knowing
    such a d is as good as knowing n's factors."""
    if not (MIN_RSA_BITS <= n.bit_length() <= MAX_REPORTED_RSA_BITS) or e % 2 == 0 or not 3 <= e < 2**32 or not 1 < d < n:
        return None
    try:
        public = rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError:  # no RSA modulus (an even n, say)
        return None
    thumbprint = jwk_thumbprint(json.loads(RSAAlgorithm.to_jwk(public)))
    if not registered(thumbprint):
        return thumbprint
    m = secrets.randbelow(n - 3) + 2
    return thumbprint if pow(pow(m, e, n), d, n) == m else None


@sensitive_variables()
def private_key_thumbprint(text: str, registered=lambda thumbprint: True) -> str | None:
    """The RFC 7638 thumbprint of the public half of a pasted private key (a PEM block, an
    OpenSSH key or a JWK), which names the credential that registered it; None for a key no
    credential can hold. The public half is derived from the private part alone: public members
    pasted beside it prove nothing, else anyone holding a published public key could pass it
    off as leaked and have its credential disabled. registered(thumbprint): whether some
    credential holds it (an RSA key's costly check runs only then). Raises ValidationError,
    never echoing the key."""
    if len(text) > MAX_PASTED:
        raise ValidationError(TOO_LONG_TO_BE_A_KEY, code="too_long")
    block = _private_pem_block(text)
    try:
        if block:
            label, pem = block
            if "ENCRYPTED" in label or "Proc-Type: 4,ENCRYPTED" in pem:
                raise ValidationError(ENCRYPTED_PRIVATE_KEY, code="encrypted")
            private = _private_from_pem(pem)
        else:
            data = json_input.loads(text.strip())
            if isinstance(data, dict) and isinstance(data.get("keys"), list):
                if len(data["keys"]) != 1:
                    raise ValidationError("Paste one private key at a time.", code="invalid")
                data = data["keys"][0]  # a JWKS of one key
            if not isinstance(data, dict) or not has_private_members(data):
                raise ValueError("not one private JWK")
            private = _private_from_jwk(data)
        if isinstance(private, rsa.RSAPrivateKey):
            numbers = private.private_numbers()
            private = (numbers.public_numbers.n, numbers.public_numbers.e, numbers.d)
    except ValidationError:
        raise
    except Exception:  # noqa: BLE001 - whatever fails to parse means the same to the person, and its message may quote the key
        raise ValidationError(UNREADABLE_PRIVATE_KEY, code="invalid") from None
    if isinstance(private, tuple):
        return _rsa_thumbprint(*private, registered)
    if isinstance(private, ec.EllipticCurvePrivateKey):
        if not isinstance(private.curve, ec.SECP256R1):
            return None
        # From the private scalar alone: a PEM may carry a public point that is not its own.
        public = json.loads(ECAlgorithm.to_jwk(ec.derive_private_key(private.private_numbers().private_value, ec.SECP256R1()).public_key()))
    elif isinstance(private, ed25519.Ed25519PrivateKey):
        public = json.loads(OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.from_private_bytes(private.private_bytes_raw()).public_key()))
    else:
        return None
    return jwk_thumbprint(public)


def _from_pem(text: str) -> dict:
    if "PRIVATE KEY" in text:
        raise ValidationError(PRIVATE_KEY_REFUSED, code="private_key")
    try:
        key = serialization.load_pem_public_key(text.encode())
    except ValueError:
        raise ValidationError("This PEM block is not a public key we can read.", code="invalid") from None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return json.loads(ECAlgorithm.to_jwk(key))
    if isinstance(key, ed25519.Ed25519PublicKey):
        return json.loads(OKPAlgorithm.to_jwk(key))
    if isinstance(key, rsa.RSAPublicKey):
        return json.loads(RSAAlgorithm.to_jwk(key))
    raise ValidationError("Use an EC P-256, Ed25519 or RSA (2048 bits or more) key.", code="key_type")


def _as_dict(value) -> dict:
    if isinstance(value, dict):
        return value
    if value is not None and not isinstance(value, str):  # a list, a number, true: sent as JSON to the API
        raise ValidationError("A JWK is a JSON object, e.g. {\"kty\": \"EC\", ...}.", code="invalid")
    text = (value or "").strip()
    if not text:
        raise ValidationError("Paste a public key as a JWK (JSON).", code="required")
    if text.startswith("-----BEGIN"):
        return _from_pem(text)
    if "PRIVATE KEY-----" in text:
        raise ValidationError(PRIVATE_KEY_REFUSED, code="private_key")
    try:
        data = json_input.loads(text)
    except ValueError:
        raise ValidationError("This is not valid JSON. Paste the public JWK as a JSON object.", code="invalid") from None
    if not isinstance(data, dict):
        raise ValidationError("A JWK is a JSON object, e.g. {\"kty\": \"EC\", ...}.", code="invalid")
    return data


def parse_public_jwk(value, *, require_kid: bool = False, proof_alg: str | None = None) -> PublicKey:
    """Validate a public JWK (dict, JSON text or a PEM public key); refuse private keys.

    proof_alg: for a key that arrives inside the proof it verifies (a DPoP proof's jwk, which
    RFC 9449 lets the client pick afresh for each proof), the proof's alg stands in for an
    "alg" the JWK does not name, when it fits the key type. Registered keys never take it.
    """
    data = _as_dict(value)
    if has_private_members(data):
        raise ValidationError(PRIVATE_KEY_REFUSED, code="private_key")
    kty = data.get("kty")
    if not isinstance(kty, str) or kty not in PUBLIC_MEMBERS:
        raise ValidationError("Use an EC P-256, Ed25519 or RSA (2048 bits or more) key.", code="key_type")
    if kty == "EC" and data.get("crv") != "P-256":
        raise ValidationError("EC keys must be on curve P-256 (ES256).", code="key_type")
    if kty == "OKP" and data.get("crv") != "Ed25519":
        raise ValidationError("OKP keys must be Ed25519 (EdDSA).", code="key_type")
    missing = [m for m in PUBLIC_MEMBERS[kty] if not isinstance(data.get(m), str) or not data.get(m)]
    if missing:
        raise ValidationError(f"The key lacks its {', '.join(missing)} member(s).", code="invalid")
    if data.get("use") not in (None, "sig"):
        raise ValidationError("The key's \"use\" must be \"sig\".", code="invalid")
    if "alg" in data:
        if data["alg"] not in ALGORITHMS[kty]:
            raise ValidationError(f"A {kty} key signs with {' or '.join(ALGORITHMS[kty])}, not {data['alg']!s:.20}.", code="alg")
        alg = data["alg"]
    else:
        alg = proof_alg if proof_alg in ALGORITHMS[kty] else DEFAULT_ALGORITHM[kty]
    algorithms = SAME_ALGORITHM.get(alg, (alg,))
    if require_kid and not data.get("kid"):
        raise ValidationError("Every key in the bundle needs a \"kid\".", code="invalid")
    public = {m: data[m] for m in PUBLIC_MEMBERS[kty]}
    loader = {"EC": ECAlgorithm, "OKP": OKPAlgorithm, "RSA": RSAAlgorithm}[kty]
    try:
        key = loader.from_jwk(public)
    except Exception:  # noqa: BLE001 - any parse failure means the same thing to the person
        raise ValidationError("The key's numbers do not form a valid public key.", code="invalid") from None
    if kty == "RSA" and key.key_size < MIN_RSA_BITS:
        raise ValidationError(f"RSA keys must have at least {MIN_RSA_BITS} bits (this one has {key.key_size}).", code="weak")
    # The members re-encoded from the key itself, not as pasted: the parser also takes padding,
    # leading zero bytes in n, e as "AAEAAQ", "+" and "/", so one key has many spellings, and a
    # thumbprint of the spelling would let a key registered once come back under another.
    canonical = loader.to_jwk(key, as_dict=True)
    public = {m: canonical[m] for m in PUBLIC_MEMBERS[kty]}
    thumbprint = jwk_thumbprint(public)
    for member in ("kid", "alg", "use"):
        if isinstance(data.get(member), str) and data[member]:
            public[member] = data[member][:128]
    return PublicKey(jwk=public, key=key, algorithms=algorithms, thumbprint=thumbprint)


def _parse_bundle(value) -> tuple[dict[str, PublicKey], list[dict]]:
    """The bundle's JWT signing keys by kid, and the bundle as the portal keeps it."""
    if isinstance(value, str):
        try:
            value = json_input.loads(value)
        except ValueError:
            raise ValidationError("This is not valid JSON. Paste the bundle as a JWKS object.", code="invalid") from None
    keys = value.get("keys") if isinstance(value, dict) else None
    if not isinstance(keys, list):
        raise ValidationError("A JWKS is an object with a \"keys\" list.", code="invalid")
    if has_private_members(value):
        raise ValidationError(PRIVATE_KEY_REFUSED, code="private_key")
    if not all(isinstance(entry, dict) for entry in keys):
        raise ValidationError("Every entry of \"keys\" must be a JWK object.", code="invalid")
    parsed, kept = {}, []
    for entry in keys:
        if entry.get("use") == "x509-svid":
            kept.append({m: entry[m] for m in X509_MEMBERS if m in entry})
            continue
        use = entry.get("use")
        entry = {k: v for k, v in entry.items() if not (k == "use" and v == "jwt-svid")}
        if not isinstance(entry.get("kid"), str) or len(entry["kid"]) > 128:
            raise ValidationError("Every key in the bundle needs a \"kid\": text of at most 128 characters.", code="invalid")
        key = parse_public_jwk(entry, require_kid=True)
        if key.kid in parsed:
            raise ValidationError(f"Two keys share the kid {key.kid!r}.", code="invalid")
        parsed[key.kid] = key
        kept.append({**key.jwk, **({"use": use} if use else {})})
    if not parsed:
        raise ValidationError("The bundle has no JWT signing key.", code="invalid")
    return parsed, kept


def parse_jwks(value) -> dict[str, PublicKey]:
    """Validate a JWKS (a trust domain's JWT bundle): every signing key public, each with a kid.

    SPIFFE bundles also carry X.509 authorities ("use": "x509-svid"); those are skipped, but a
    private part anywhere in the bundle refuses it whole.
    """
    return _parse_bundle(value)[0]


def clean_jwks(value) -> dict:
    """The bundle as the portal keeps it: each JWT key's public members (with kid, alg and use)
    and each X.509 authority's public members; nothing else that was pasted."""
    return {"keys": _parse_bundle(value)[1]}


class KeyCache:
    """Parsed keys per process, keyed by something that changes when the key does.

    Parsing a JWK costs more than the signature check it enables, so the hot path looks
    keys up here. Keys never change under the same cache key (a credential's JWK is
    immutable; a trust domain's key includes its updated_at), so nothing needs invalidating;
    the cache is simply bounded.
    """

    def __init__(self, max_entries: int = 10_000):
        self._entries: dict = {}
        self._max = max_entries

    def get(self, cache_key, build):
        try:
            return self._entries[cache_key]
        except KeyError:
            pass
        value = build()
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[cache_key] = value
        return value

    def clear(self) -> None:
        self._entries.clear()
