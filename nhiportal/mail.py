"""Mail for work claimed in the database first (a notice per task, a told_at per exposure).

Claiming before sending keeps two runs of a notify command from both sending; if the mail
server refuses, the claims of the mails that did not go are withdrawn so the next run tries
again, and the run fails loudly rather than marking people as told. Delivery is at least
once: a claim is withdrawn for every mail not known to be sent, so a mail whose claim it
shares with one that went (two owners told of one row) may go again, but a claim never
stands for a mail that did not go.
"""

import smtplib
import unicodedata
from collections.abc import Callable

from django.core.mail import BadHeaderError, EmailMessage, get_connection
from django.db import transaction

# Line breaks, other control characters and invisible formatting (a right-to-left override).
_NOT_IN_A_HEADER = {"Cc", "Cf", "Zl", "Zp"}


def one_line(text: str) -> str:
    """A subject on one line, as readers see it: a name in it (an identity's, an API token's)
    may hold a line break, which Django refuses in a header, or a character that hides or
    reorders the text around it. Each becomes a space, and runs of spaces one."""
    return " ".join("".join(" " if unicodedata.category(c) in _NOT_IN_A_HEADER else c for c in text).split())


def send_claimed(
    messages: list[EmailMessage], *, withdraw: Callable[[Exception], None],
    withdraw_unsent: Callable[[Exception, list[int]], None] | None = None,
) -> None:
    """Send the messages over one connection, each on its own. When any did not go, withdraw
    the claims: with withdraw_unsent, only those of the unsent messages (their positions in
    `messages`); else all of them (withdraw). Then raise the first error.

    One refused recipient (a mailbox gone) does not stop the others' mail; a server that is
    down or drops the connection stops the run at once, as each further mail would wait out
    the connection timeout again."""
    if not messages:
        return  # as Django's SMTP backend: with nothing to send, never connect
    for message in messages:
        message.subject = one_line(message.subject)
    connection, unsent, first_error = get_connection(), [], None
    try:
        connection.open()
    except Exception as error:
        unsent, first_error = list(range(len(messages))), error
    else:
        try:
            for position, message in enumerate(messages):
                try:
                    connection.send_messages([message])
                # This mailbox's refusal, or this one mail that cannot be written (a header
                # one_line does not clean): go on with the rest, which would not fail for it.
                except (smtplib.SMTPRecipientsRefused, BadHeaderError) as error:
                    unsent.append(position)
                    first_error = first_error or error
                except Exception as error:
                    unsent.extend(range(position, len(messages)))
                    first_error = first_error or error
                    break
        finally:
            try:
                connection.close()
            except Exception:  # the mails went or did not; a failed QUIT changes neither
                pass
    if first_error is None:
        return
    with transaction.atomic():  # told nobody of these: withdraw their claims (and audit that)
        if withdraw_unsent is not None and len(unsent) < len(messages):
            withdraw_unsent(first_error, unsent)
        else:
            withdraw(first_error)
    raise first_error


def send_claimed_rows(
    messages: list[EmailMessage], *, rows_of: list[list], claimed: list, withdraw: Callable[[Exception, list], None],
) -> None:
    """send_claimed for mails that each claimed some rows: rows_of[i] are those messages[i]
    tells of, `claimed` all the run claimed. withdraw(error, rows) withdraws the claims on
    `rows` and audits it: called with the rows of the mails that did not go (each row once,
    though several such mails tell of it, and even if another mail of it went: at least once),
    or with all `claimed` when none went."""
    send_claimed(
        messages, withdraw=lambda error: withdraw(error, claimed),
        withdraw_unsent=lambda error, positions: withdraw(error, list(dict.fromkeys(row for p in positions for row in rows_of[p]))),
    )
