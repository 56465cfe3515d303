"""nhiportal/conf.py: settings read through nhi_setting follow the settings; the database checks refuse what cannot work."""

import pytest

from nhiportal.conf import nhi_setting


def test_a_setting_assigned_anew_is_read_at_once(settings):
    before = nhi_setting("PAGE_SIZE")
    settings.NHI = {**settings.NHI, "PAGE_SIZE": before + 7}
    assert nhi_setting("PAGE_SIZE") == before + 7


def test_a_setting_changed_in_place_is_read_at_once(settings):
    settings.NHI = {**settings.NHI}  # a copy this test may change
    settings.NHI["PAGE_SIZE"] = 3
    assert nhi_setting("PAGE_SIZE") == 3


@pytest.mark.django_db
def test_a_role_that_may_not_create_temporary_tables_is_refused_before_it_cannot_revoke():
    """Revocations read the chains they walk into a temporary table (tokens/exchange_chains.py)."""
    from django.db import connection

    from nhiportal.conf import temporary_tables_allowed

    assert temporary_tables_allowed(databases=["default"]) == []
    if connection.vendor != "postgresql":
        return  # SQLite has no such privilege: every connection may
    with connection.cursor() as cursor:  # undone with the test's transaction
        cursor.execute("CREATE ROLE nhi_no_temporary NOLOGIN")
        cursor.execute(f'REVOKE TEMPORARY ON DATABASE "{connection.settings_dict["NAME"]}" FROM PUBLIC')
        cursor.execute("SET LOCAL ROLE nhi_no_temporary")
    [error] = temporary_tables_allowed(databases=["default"])
    assert error.id == "nhiportal.E003" and "could revoke nothing" in error.msg
    assert temporary_tables_allowed(databases=None) == []
