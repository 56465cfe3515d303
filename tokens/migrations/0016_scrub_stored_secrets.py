"""Scrub secrets that earlier versions let through into two columns.

- A trust domain's bundle: the private-part check skipped X.509 authority entries, so a
  bundle could be stored with a private key inside one. Private members are removed.
- An exposure report's "where it was found": a token, API token or private key typed there
  was kept. Such text is replaced by a note.

Written out here rather than imported, so the migration keeps doing what it did.
"""

import re

from django.db import migrations

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
SECRET_TEXT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.|nhip_[A-Za-z0-9_-]{16,}|PRIVATE KEY-----|\"(?:d|p|q|dp|dq|qi|oth|k)\"\s*:")
REMOVED = "(removed: this field held a secret)"


def _public(value):
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if k not in PRIVATE_MEMBERS}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


def scrub(apps, schema_editor):
    TrustDomain = apps.get_model("tokens", "TrustDomain")
    for domain in TrustDomain.objects.all():
        public = {"keys": _public(domain.jwks.get("keys", []))} if isinstance(domain.jwks, dict) else domain.jwks
        if public != domain.jwks:
            domain.jwks = public
            domain.save(update_fields=["jwks"])
    Exposure = apps.get_model("tokens", "Exposure")
    for exposure in Exposure.objects.only("pk", "where_found"):
        if SECRET_TEXT.search(exposure.where_found or ""):
            exposure.where_found = REMOVED
            exposure.save(update_fields=["where_found"])


class Migration(migrations.Migration):
    dependencies = [("tokens", "0015_unindexed_task_service_and_token_grant")]

    operations = [migrations.RunPython(scrub, migrations.RunPython.noop)]
