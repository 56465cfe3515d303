from django.core.management.base import BaseCommand, CommandError

from nhiportal.audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain and HMACs; name the first broken row."

    def handle(self, *args, **options):
        checked, problem = audit_chain_verify()
        if problem is not None:
            where = f"event {problem.event_id}" if problem.event_id else "chain head"
            raise CommandError(f"Audit chain broken at {where}: {problem.problem} ({checked} events verified before it)")
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {checked} events verified"))
