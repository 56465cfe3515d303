import django_filters

from nhiportal.audit.models import AuditEvent


class AuditEventAPIFilter(django_filters.FilterSet):
    # A prefix, like the audit page's filter: "identity." matches every identity event.
    action = django_filters.CharFilter(lookup_expr="startswith", help_text='Exact or a prefix, e.g. "identity.".')
    actor_label = django_filters.CharFilter(help_text='Exact: a username, "agent:<client_id>" or "system:<command>".')
    object_type = django_filters.CharFilter(help_text='Exact, e.g. "inventory.aiidentity".')
    identity_id = django_filters.UUIDFilter()
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte", help_text="ISO 8601, inclusive.")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt", help_text="ISO 8601, exclusive.")

    class Meta:
        model = AuditEvent
        fields = ["action", "actor_label", "object_type", "identity_id", "since", "until"]
