"""`manage.py policy_apply`: policy as code. A Cedar file and its example requests, kept in a
repository, become the portal's policy version.

    manage.py policy_apply policies.cedar --examples examples.json --check
    manage.py policy_apply policies.cedar --examples examples.json --activate --reason "..." --actor sam

--check writes nothing: it validates the policies against the portal's schema and runs the
examples, for a pull request's CI. Otherwise the files are saved as a new version, unless
the latest version already has this text, these examples and this mode (so a pipeline can
apply on every merge), and --activate activates it with the Activate button's checks and, as
the activation page asks, a --reason, kept in the `policy.activate` event. The audit trail
names --actor (an active security admin) or, without it, "policy_apply".
Anything refused exits with status 1 and says why, and writes nothing.
"""

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from nhiportal.audit.services import system_actor
from nhiportal.people.roles import is_security_admin
from tokens.policy.models import PolicyMode
from tokens.policy.services import policy_apply, policy_check


def _read(path: str) -> str:
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read {path}: {exc}") from None


class Command(BaseCommand):
    help = "Validate (--check), save and optionally activate a Cedar policy set and its examples from files."

    def add_arguments(self, parser):
        parser.add_argument("policies", help="the Cedar policy file, or - for standard input")
        parser.add_argument("--examples", required=True, help="a JSON list of example requests with their expected decisions")
        parser.add_argument("--check", action="store_true", help="validate and run the examples only; write nothing")
        parser.add_argument("--activate", action="store_true", help="activate the version (its examples must pass)")
        parser.add_argument("--confirm-deny-all", action="store_true", help="activate even if it would deny every recent request")
        parser.add_argument("--mode", choices=PolicyMode.values, default=PolicyMode.ENFORCE)
        parser.add_argument("--note", default="", help="what changed, for the version list (for example the commit)")
        parser.add_argument("--actor", help="the security admin the audit trail names")
        parser.add_argument(
            "--reason", default="", help="why this version becomes the active one (needed with --activate); kept in the audit trail",
        )

    def handle(self, *args, **options):
        text, examples = _read(options["policies"]), _read(options["examples"])
        if options["check"]:
            problems = policy_check(text=text, examples=examples)
            if problems:
                raise CommandError("\n".join(["The policy set is refused:", *problems]))
            self.stdout.write(self.style.SUCCESS("The policies validate against the schema and every example passes."))
            return
        reason = options["reason"].strip()
        if options["activate"] and not reason:
            raise CommandError(
                "--activate needs --reason: say why this version becomes the active one "
                "(as the activation page asks; the reason is kept in the audit trail). Nothing was saved."
            )
        if reason and not options["activate"]:
            raise CommandError("--reason is kept with an activation: add --activate, or leave --reason out. Nothing was saved.")
        try:
            applied = policy_apply(
                actor=self._actor(options["actor"]), text=text, examples=examples, note=options["note"], mode=options["mode"],
                activate=options["activate"], confirm_deny_all=options["confirm_deny_all"], reason=reason,
            )
        except ValidationError as exc:
            raise CommandError("\n".join(["The policy set is refused; nothing was saved:", *_messages(exc)])) from None
        version = applied.version
        said = f"Saved version {version.number}." if applied.created else f"Unchanged: version {version.number} has these files already."
        if applied.activated:
            said += f" Activated version {version.number} ({version.mode})."
        elif version.is_active:
            said += " It is the active version."
        self.stdout.write(self.style.SUCCESS(said))

    def _actor(self, username):
        if not username:
            return system_actor("policy_apply")
        person = get_user_model().objects.filter(username=username, is_active=True).first()
        if person is None or not is_security_admin(person):
            raise CommandError(f"--actor must name an active security admin; {username!r} is not one.")
        return person


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "message_dict"):
        return [f"{field}: {m}" if field != "__all__" else m for field, ms in exc.message_dict.items() for m in ms]
    return exc.messages
