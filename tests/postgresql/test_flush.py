"""The suite's PostgreSQL backend empties tables with DELETE, and empties them all."""

import pytest
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection

from inventory.models import AIIdentity, Ownership

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend's flush")


def test_it_flushes_with_deletes_not_truncate():
    statements = connection.ops.sql_flush(no_style(), ["inventory_aiidentity", "inventory_ownership"])
    assert statements == ['DELETE FROM "inventory_aiidentity";', 'DELETE FROM "inventory_ownership";']
    # What Django asks for beyond emptying the tables is still TRUNCATE's.
    assert connection.ops.sql_flush(no_style(), ["inventory_aiidentity"], reset_sequences=True)[0].startswith("TRUNCATE")


@pytest.mark.django_db(transaction=True)
def test_a_flush_empties_tables_whatever_refers_to_what(make_identity, alice):
    # An identity with an owner: rows referring to others, deleted in the flush's table order.
    make_identity(owner=alice)
    assert Ownership.objects.exists()
    call_command("flush", verbosity=0, interactive=False)
    assert not AIIdentity.objects.exists() and not Ownership.objects.exists()
