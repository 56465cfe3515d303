from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from nhiportal.audit.export import export_lines
from nhiportal.audit.selectors import event_list


def parse_since(value: str) -> datetime:
    """An ISO date or date-time; without a zone it is read in the portal's time zone."""
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            moment = datetime.combine(day, time.min) if day else None
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(f"--since must be an ISO date or date-time, e.g. 2026-01-31 or 2026-01-31T08:00:00Z (got {value!r})")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = "Write the audit log as JSON lines (one event per line, oldest first) for a SIEM."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="Only events at or after this ISO date or date-time.")
        parser.add_argument("--after", type=int, help="Only events after this id (the last one a previous export wrote).")
        parser.add_argument("--output", help="Write to this file instead of standard output.")

    def handle(self, *args, since=None, after=None, output=None, **options):
        events = event_list()
        if since:
            events = events.filter(at__gte=parse_since(since))
        if after is not None:
            events = events.filter(id__gt=after)
        if output:
            with open(output, "w", encoding="utf-8") as stream:
                count = self._write(events, stream)
            # The summary goes to stderr so stdout stays pure JSON lines when piped.
            self.stderr.write(f"Exported {count} audit events to {output}")
        else:
            self._write(events, self.stdout)

    @staticmethod
    def _write(events, stream) -> int:
        count = 0
        for line in export_lines(events):
            stream.write(line)
            count += 1
        return count
