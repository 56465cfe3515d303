"""Mail to the owners of the identities some rows belong to, each row once: the grant-ending,
unused-access, unused-identity and key-rotation notices.

Each notice claims its rows (a told-at column) in the transaction that selected them for
update, with one audit event; the mail goes after that commits, one digest per owner. If the
mail server refuses a mail, the claims on its rows are withdrawn (and that is audited too) so
the next run tries again (nhiportal/mail.py).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.mail import EmailMessage
from django.db import models, transaction

from inventory.selectors import owner_digests
from nhiportal.audit.services import audit_record
from nhiportal.conf import nhi_setting
from nhiportal.mail import send_claimed_rows


def digest(intro: Callable[[list], str], item: Callable[[object], tuple[str, str, str]]) -> Callable[[list], str]:
    """A notice's text: a sentence about the rows, then each row as a line and a link that acts
    on it. item(row) is (what, what the link does, the link's path or URL under the portal)."""
    base_url = nhi_setting("ISSUER").rstrip("/")

    def body(rows) -> str:
        lines = [intro(rows), ""]
        for row in rows:
            what, does, path = item(row)
            lines += [f"- {what}", f"  {does}: {base_url}{path}" if does else f"  {base_url}{path}"]
        return "\n".join(lines)

    return body


@dataclass(frozen=True)
class OwnerNotice:
    model: type[models.Model]
    told_field: str  # the rows' "told at" column, the claim
    action: str  # the audit action; a refused mail is recorded as f"{action}_failed"
    object_type: str
    object_id: str
    object_repr: str
    noun: str  # what the audit event and the answer count: "grants", "credentials"

    def run(self, *, actor, now, due, subject: Callable[[list], str], body: Callable[[list], str]) -> dict:
        """Tell the owners about `due` (a queryset of rows not yet told): lock and claim them in
        one transaction, then mail each owner a digest. Answers how many rows and people."""
        with transaction.atomic():
            rows = list(due.select_for_update(of=("self",)))
            if not rows:
                return {self.noun: 0, "people": 0}
            digests = self._claim(actor=actor, rows=rows, now=now)
        return self._send(actor=actor, rows=rows, digests=digests, subject=subject, body=body)

    def _claim(self, *, actor, rows: list, now) -> dict:
        """Rows locked: mark them told and audit it. Returns the digests (owner -> their rows)."""
        digests = owner_digests(rows)
        self.model.objects.filter(pk__in=[r.pk for r in rows]).update(**{self.told_field: now})
        audit_record(
            actor=actor, action=self.action, object_type=self.object_type, object_id=self.object_id,
            object_repr=self.object_repr, after={self.noun: len(rows), "people": len(digests)},
        )
        return digests

    def _send(self, *, actor, rows: list, digests: dict, subject: Callable[[list], str], body: Callable[[list], str]) -> dict:
        """After the claim commits: one mail per owner listing their rows. A mail that does not
        go withdraws the claims on its rows only, so one owner's mailbox refusing does not mail
        every other owner again on each run until it is fixed (a row two owners share is told
        again to the one whose mail went: at least once, nhiportal/mail.py)."""
        messages = [EmailMessage(subject=subject(mine), body=body(mine), to=[person.email]) for person, mine in digests.items()]
        rows_of = list(digests.values())  # in the messages' order

        def withdraw_rows(error, unsent: list) -> None:
            self.model.objects.filter(pk__in=[r.pk for r in unsent]).update(**{self.told_field: None})
            audit_record(
                actor=actor, action=f"{self.action}_failed", object_type=self.object_type, object_id=self.object_id,
                object_repr=self.object_repr, after={self.noun: len({r.pk for r in unsent})}, reason=str(error)[:200],
            )

        send_claimed_rows(messages, rows_of=rows_of, claimed=rows, withdraw=withdraw_rows)
        return {self.noun: len(rows), "people": len(digests)}
