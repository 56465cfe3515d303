"""Recompute the thumbprint of every registered public key from the key itself.

Earlier versions took a key's RFC 7638 thumbprint from its members as pasted, and the parser
also takes padding, leading zero bytes in n, e as "AAEAAQ", "+" and "/": one key could be
registered again under another thumbprint, past the rule that a key is registered once, ever,
and a leaked private key's report (which derives the canonical thumbprint) missed it. Each JWK
credential now keeps its canonical members and their thumbprint (kid, alg and use as they were:
agents name their key by that kid).

A key that turns out registered more than once is not touched otherwise: both credentials
stay, and a line per credential says so, for operators to disable the one that should not be.
A private-key report now disables every enabled credential of the key. Nothing changes what a
credential does (the same key verifies the same signatures), so nothing goes to the audit log,
as 0044 fills in its fields without it.
"""

import hashlib
import json
from base64 import urlsafe_b64encode
from collections import defaultdict

from django.db import migrations
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

# As tokens/public_keys.py has them today; copied, so this migration keeps meaning what it did.
REQUIRED = {"EC": ("kty", "crv", "x", "y"), "OKP": ("kty", "crv", "x"), "RSA": ("kty", "e", "n")}
LOADERS = {"EC": ECAlgorithm, "OKP": OKPAlgorithm, "RSA": RSAAlgorithm}


def _canonical(jwk) -> dict:
    kty = jwk["kty"]
    loader = LOADERS[kty]
    members = loader.to_jwk(loader.from_jwk({m: jwk[m] for m in REQUIRED[kty]}), as_dict=True)
    return {m: members[m] for m in REQUIRED[kty]}


def _thumbprint(members: dict) -> str:
    digest = hashlib.sha256(json.dumps(members, sort_keys=True, separators=(",", ":")).encode()).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode()


def canonical_thumbprints(apps, schema_editor):
    WorkloadCredential = apps.get_model("tokens", "WorkloadCredential")
    by_thumbprint = defaultdict(list)
    rows = WorkloadCredential.objects.filter(kind="jwk").order_by("pk").values_list("pk", "identity_id", "enabled", "public_jwk", "thumbprint")
    for pk, identity_id, enabled, jwk, thumbprint in rows.iterator():
        try:
            members = _canonical(jwk)
        except Exception:  # noqa: BLE001 - a row the parser takes no more: left as it is, and said
            print(f"tokens 0045: credential {pk} (identity {identity_id}): its public key cannot be read; left as it was.")
            by_thumbprint[thumbprint].append((pk, identity_id, enabled))
            continue
        canonical = _thumbprint(members)
        if canonical != thumbprint or any(jwk.get(m) != v for m, v in members.items()):
            WorkloadCredential.objects.filter(pk=pk).update(public_jwk={**jwk, **members}, thumbprint=canonical)
        by_thumbprint[canonical].append((pk, identity_id, enabled))
    for thumbprint, held in by_thumbprint.items():
        if len(held) < 2 or not thumbprint:
            continue
        for pk, identity_id, enabled in held:
            others = ", ".join(str(other) for other, _, _ in held if other != pk)
            print(
                f"tokens 0045: credential {pk} (identity {identity_id}, {'enabled' if enabled else 'disabled'}) "
                f"holds the same public key as credential(s) {others} (thumbprint {thumbprint}): "
                "a key is registered once; disable the one that should not have it."
            )


class Migration(migrations.Migration):

    dependencies = [
        ("tokens", "0044_signing_key_compromise"),
    ]

    operations = [
        migrations.RunPython(canonical_thumbprints, migrations.RunPython.noop, elidable=True),
    ]
