"""Mail for work claimed in the database first (a notice per task, a told_at per exposure).

Claiming before sending keeps two runs of a notify command from both sending; if the mail
server refuses, the claims are withdrawn so the next run tries again, and the run fails
loudly rather than marking people as told.
"""

from collections.abc import Callable

from django.core.mail import EmailMessage, get_connection
from django.db import transaction


def send_claimed(messages: list[EmailMessage], *, withdraw: Callable[[Exception], None]) -> None:
    try:
        get_connection().send_messages(messages)
    except Exception as error:
        with transaction.atomic():  # told nobody: withdraw the claims (and audit that)
            withdraw(error)
        raise
