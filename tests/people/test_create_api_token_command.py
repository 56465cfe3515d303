import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from nhiportal.people.models import PersonalAPIToken, hash_api_token


def test_it_prints_a_working_token_once(alice, capsys):
    call_command("create_api_token", "alice", "--name", "ci", "--days", "7")
    out, err = capsys.readouterr()
    raw = out.strip()
    assert raw.startswith("nhip_") and raw not in err
    token = PersonalAPIToken.objects.get(user=alice)
    assert token.token_hash == hash_api_token(raw) and token.name == "ci"
    response = Client(headers={"Authorization": f"Bearer {raw}"}).get(reverse("api:identity-list"))
    assert response.status_code == 200


def test_its_token_works_for_a_role_that_requires_a_second_factor(settings, alice, capsys):
    # Whoever runs manage.py holds the server already: the token stands as made with a second factor.
    settings.MFA_REQUIRED_ROLES = ["owner"]
    call_command("create_api_token", "alice", "--name", "ci")
    raw = capsys.readouterr().out.strip()
    assert Client(headers={"Authorization": f"Bearer {raw}"}).get(reverse("api:identity-list")).status_code == 200


def test_it_refuses_an_unknown_person(db):
    with pytest.raises(CommandError, match="No active person"):
        call_command("create_api_token", "nobody", "--name", "ci")


def test_it_refuses_a_lifetime_over_a_year(alice):
    with pytest.raises(CommandError, match="between 1 and 365"):
        call_command("create_api_token", "alice", "--name", "ci", "--days", "366")
    assert not PersonalAPIToken.objects.exists()
