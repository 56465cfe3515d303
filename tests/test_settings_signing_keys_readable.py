"""A key-encryption key that is a valid Fernet key but not the one the signing keys were
encrypted under is refused before a token request meets it (nhiportal/conf.py)."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from nhiportal.audit.services import system_actor
from nhiportal.conf import refuse_misconfiguration, signing_keys_readable
from tokens.keys import signing_key_create

pytestmark = pytest.mark.django_db


def test_it_passes_when_the_key_reads_the_signing_keys():
    signing_key_create(actor=system_actor("test"))
    assert signing_keys_readable(databases=["default"]) == []


def test_it_reports_a_signing_key_the_encryption_key_cannot_read(settings):
    key = signing_key_create(actor=system_actor("test"))
    settings.KEY_ENCRYPTION_KEY = Fernet.generate_key().decode()
    [error] = signing_keys_readable(databases=["default"])
    assert error.id == "nhiportal.E002"
    assert error.msg == (
        f"NHI_KEY_ENCRYPTION_KEY cannot read the next signing key {key.kid}: the portal could sign no token with it."
    )


def test_it_reads_them_while_the_old_key_follows_the_new(settings):
    signing_key_create(actor=system_actor("test"))
    settings.KEY_ENCRYPTION_KEY = f"{Fernet.generate_key().decode()},{settings.KEY_ENCRYPTION_KEY}"
    assert signing_keys_readable(databases=["default"]) == []


def test_it_does_not_look_without_a_database():
    """`manage.py check` without --database, as Django's own database checks."""
    assert signing_keys_readable(databases=None) == []


def test_a_server_refuses_to_start_when_it_cannot_read_the_signing_key(settings):
    signing_key_create(actor=system_actor("test"))
    settings.KEY_ENCRYPTION_KEY = Fernet.generate_key().decode()
    with pytest.raises(ImproperlyConfigured, match=r"(?s)The portal's settings cannot work:.*nhiportal\.E002"):
        refuse_misconfiguration()
