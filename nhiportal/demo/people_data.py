"""The demo organisation's people: the five personas of the README and a dozen more owners."""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from nhiportal.audit.services import system_actor
from nhiportal.people.roles import COMPLIANCE, OWNER, REVIEWER, SECURITY_ADMIN
from nhiportal.people.services import role_assign

DEMO_PASSWORD = "demo-pass-2026"

# username, first name, last name, roles
PERSONAS = [
    ("alice", "Alice", "Moreau", [OWNER]),
    ("bob", "Bob", "Okafor", [OWNER]),
    ("rita", "Rita", "Kowalski", [REVIEWER]),
    ("carol", "Carol", "Lindqvist", [COMPLIANCE]),
    ("sam", "Sam", "Haddad", [SECURITY_ADMIN]),
]
OTHER_OWNERS = [
    ("priya", "Priya", "Natarajan"),
    ("jonas", "Jonas", "Becker"),
    ("mei", "Mei", "Chen"),
    ("tomas", "Tomás", "Herrera"),
    ("fatima", "Fatima", "Al-Sayed"),
    ("liam", "Liam", "O'Connor"),
    ("yuki", "Yuki", "Tanaka"),
    ("grace", "Grace", "Mensah"),
    ("dmitri", "Dmitri", "Volkov"),
    ("sofia", "Sofia", "Rossi"),
    ("nadia", "Nadia", "Haddou"),
    ("oskar", "Oskar", "Nieminen"),
]
# They left the company: identities only they own are orphaned until someone claims them.
LEAVERS = ["dmitri", "nadia"]


def create_people() -> dict:
    """Create (or find) every demo person; return them by username. Leavers are still active here:
    they own identities first and are deactivated by `deactivate_leavers` afterwards."""
    User = get_user_model()
    password = make_password(DEMO_PASSWORD)  # hash once: the same password for everyone
    actor = system_actor("demo_data")
    rows = PERSONAS + [(u, first, last, [OWNER]) for u, first, last in OTHER_OWNERS]
    people = {}
    for username, first, last, roles in rows:
        person, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@example.com",
                "password": password,
            },
        )
        if username == "sam" and not person.is_superuser:
            person.is_superuser = person.is_staff = True
            person.save(update_fields=["is_superuser", "is_staff"])
        for role in roles:
            role_assign(user=person, role=role, actor=actor)
        people[username] = person
    return people


def owners_pool(people: dict) -> list:
    return [people["alice"], people["bob"]] + [people[u] for u, _, _ in OTHER_OWNERS]


def deactivate_leavers(people: dict) -> None:
    for username in LEAVERS:
        person = people[username]
        person.is_active = False
        person.save(update_fields=["is_active"])
