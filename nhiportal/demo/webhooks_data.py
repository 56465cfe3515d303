"""The security team's SIEM subscribed to leaks and credential events, and down: its first
delivery failed, so /webhooks/ shows a failing receiver, its delivery history and Redeliver.

Port 9 (discard) on loopback: nothing listens there, so each try is refused at once, never a
wait on a timeout; the sweep keeps retrying with its growing back-off, as for a real outage.
"""

from nhiportal.webhooks.delivery import deliver_all
from nhiportal.webhooks.services import endpoint_create

SIEM_URL = "http://127.0.0.1:9/siem/nhi-events"


def subscribe_siem(people: dict) -> None:
    """Before the identities: what happens to them from here on is queued for the SIEM."""
    endpoint_create(
        actor=people["sam"], url=SIEM_URL, description="Security team's SIEM (down in the demo)",
        categories=["security", "credentials"],
    )


def try_the_siem() -> None:
    """One delivery round, as the sweep's: the SIEM refuses it and the queue waits."""
    deliver_all()
