"""The one gate, for deciding approvals: reviewers and security admins, never on what they own."""

import pytest

from inventory import visibility
from inventory.models import AIIdentity
from nhiportal.audit.services import system_actor
from nhiportal.people.roles import OWNER
from nhiportal.people.services import role_assign
from tokens.models import Service, Task


@pytest.fixture
def identities(make_identity, alice, rita, sam):
    role_assign(user=rita, role=OWNER, actor=system_actor("tests"))  # a reviewer who owns an identity too
    return {"alices": make_identity(alice), "ritas": make_identity(rita), "sams": make_identity(sam)}


@pytest.mark.parametrize(
    "person, decides",
    [("sam", {"alices", "ritas"}), ("rita", {"alices", "sams"}), ("alice", set()), ("carol", set()), ("charlie", set())],
)
def test_approvals_are_decided_by_reviewers_and_admins_on_what_they_do_not_own(request, identities, sam, person, decides):
    user = request.getfixturevalue(person)
    names = {k for k, identity in identities.items() if visibility.can(user, visibility.APPROVE, identity)}
    assert names == decides
    restricted = visibility.restrict(AIIdentity.objects.all(), user, visibility.APPROVE)
    assert {k for k, identity in identities.items() if restricted.filter(pk=identity.pk).exists()} == decides
    service = Service.objects.create(name="s", audience="https://s.example.com", owner=sam)
    tasks = {k: Task.objects.create(identity=identity, service=service) for k, identity in identities.items()}
    by_task = visibility.restrict_by_identity(Task.objects.all(), user, visibility.APPROVE)
    assert {k for k, task in tasks.items() if by_task.filter(pk=task.pk).exists()} == decides
