"""The portal's namespaced settings (settings.NHI), read at call time so tests can override;
and the checks that stop a deployment whose settings cannot work."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.core.checks import Warning as CheckWarning
from django.core.exceptions import ImproperlyConfigured
from django.http.request import validate_host

# The packages whose system checks judge the portal's own settings (sign-in, the sweep, token windows).
PORTAL_PACKAGES = ("nhiportal", "inventory", "tokens")


# settings.NHI itself, looked up once: every attribute of Django's lazy settings object goes
# through a Python-level __getattribute__ (and a swallowed AttributeError), and a token reads
# half a dozen of these. Tests that assign settings.NHI anew are seen through setting_changed.
_nhi: dict | None = None


def nhi_setting(name: str):
    global _nhi
    if _nhi is None:
        _nhi = settings.NHI
    return _nhi[name]


@receiver(setting_changed)
def _forget_nhi(*, setting, **kwargs):
    global _nhi
    if setting == "NHI":
        _nhi = None


@register(Tags.security, deploy=True)
def issuer_settings(app_configs=None, **kwargs):
    """`manage.py check --deploy`: the issuer agents and resource servers are given is served
    over HTTPS (RFC 8414 section 2) on a host the portal answers for."""
    issuer = urlsplit(nhi_setting("ISSUER"))
    if issuer.scheme != "https" or not issuer.hostname:
        return [Error(
            f"NHI_ISSUER is {nhi_setting('ISSUER')!r}: an OAuth issuer must be an https:// URL.",
            hint="Set NHI_ISSUER to the portal's public URL, e.g. https://nhi.example.com: it is the iss of every "
            "token, and the discovery document builds every endpoint from it.",
            id="nhiportal.E001",
        )]
    if not validate_host(issuer.hostname, settings.ALLOWED_HOSTS):
        return [CheckWarning(
            f"NHI_ISSUER names {issuer.hostname}, which NHI_ALLOWED_HOSTS does not list: requests to the "
            "endpoints its discovery document names would be refused (400).",
            hint="Add the issuer's host to NHI_ALLOWED_HOSTS.",
            id="nhiportal.W001",
        )]
    return []


@register(Tags.database)
def signing_keys_readable(app_configs=None, databases=None, **kwargs):
    """The keys that sign tokens now and next are readable under NHI_KEY_ENCRYPTION_KEY: a key
    that is valid but not the one they were encrypted under (a typo, a restore, an old key
    dropped before `encryption_key_rotate`) would otherwise fail every token request."""
    if not databases:
        return []
    from django.apps import apps
    from django.db import DatabaseError

    from nhiportal.encryption import readable

    try:
        keys = list(apps.get_model("tokens", "SigningKey").objects.filter(state__in=("active", "next")).values_list(
            "kid", "state", "private_key_encrypted"
        ))
    except (DatabaseError, RuntimeError):
        # Not migrated yet or not reachable (the database's own errors say so), or refused by a
        # test runner while a test module imports the WSGI application (pytest-django).
        return []
    return [
        Error(
            f"NHI_KEY_ENCRYPTION_KEY cannot read the {state} signing key {kid}: the portal could sign no token with it.",
            hint="Set the key it was encrypted under; while rotating, both, newest first (NEW,OLD), until "
            "`manage.py encryption_key_rotate` has re-encrypted every kept secret.",
            id="nhiportal.E002",
        )
        for kid, state, encrypted in keys
        if not readable(encrypted)
    ]


@register(Tags.database)
def temporary_tables_allowed(app_configs=None, databases=None, **kwargs):
    """On PostgreSQL, the portal's role may create temporary tables: a revocation reads the
    exchange chains it walks into one (tokens/exchange_chains.py, Walk.read_once), so without
    the privilege (a database hardened with REVOKE TEMPORARY ... FROM PUBLIC) no token,
    task, suspension or offboarding could take access away."""
    if not databases:
        return []
    from django.db import DatabaseError, connections

    errors = []
    for alias in databases:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT has_database_privilege(current_database(), 'TEMPORARY')")
                allowed = cursor.fetchone()[0]
        except (DatabaseError, RuntimeError):
            continue  # not reachable: the database's own errors say so
        if not allowed:
            errors.append(Error(
                f"The database role of {alias!r} may not create temporary tables: the portal could revoke nothing.",
                hint="GRANT TEMPORARY ON DATABASE <the database> TO <the portal's role>; "
                "revocations read the exchange chains they walk into a temporary table.",
                id="nhiportal.E003",
            ))
    return errors


def refuse_misconfiguration() -> None:
    """Stop a server process whose settings the portal's own system checks refuse.

    `manage.py check`, runserver and migrate run these checks; a WSGI server runs none, so
    without this gunicorn would start and the first person or agent would meet the mistake.
    Only the portal's checks run (Django's own judge code, which CI covers): a few ms and
    one query.
    """
    from django.core.checks.registry import registry
    from django.db import connection

    was_open = connection.connection is not None
    try:
        problems = [
            str(message)
            for check in registry.get_checks(include_deployment_checks=False)
            if check.__module__.startswith(PORTAL_PACKAGES)
            for message in check(app_configs=None, databases=["default"])
            if message.is_serious() and not message.is_silenced()
        ]
    finally:
        if not was_open:  # opened here: a worker forked from a preloading master must not share it
            connection.close()
    if problems:
        raise ImproperlyConfigured("The portal's settings cannot work:\n" + "\n".join(problems))
