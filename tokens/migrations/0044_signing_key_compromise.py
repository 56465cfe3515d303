from django.db import migrations, models


def from_the_audit_log(apps, schema_editor):
    """Keys reported compromised before these fields existed: the report's event says when, by
    whom, why and how many tokens went. Only filled in, so nothing is written to the audit log."""
    AuditEvent = apps.get_model("audit", "AuditEvent")
    SigningKey = apps.get_model("tokens", "SigningKey")
    reports = AuditEvent.objects.filter(action="signing_key.compromised", object_type="tokens.signingkey").order_by("id")
    for event in reports.iterator():
        if not event.object_id.isdigit():
            continue
        after = event.after if isinstance(event.after, dict) else {}
        SigningKey.objects.filter(pk=int(event.object_id), compromised_at__isnull=True).update(
            compromised_at=event.at, compromised_by_label=event.actor_label[:200], compromise_reason=event.reason[:200],
            compromise_tokens_revoked=after.get("tokens_revoked") or 0,
        )


class Migration(migrations.Migration):

    dependencies = [
        ("tokens", "0043_end_tasks_left_open"),
        ("audit", "0003_leaner_event_indexes"),
    ]

    operations = [
        migrations.AddField(model_name="signingkey", name="compromised_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="signingkey", name="compromised_by_label", field=models.CharField(blank=True, max_length=200)),
        migrations.AddField(model_name="signingkey", name="compromise_reason", field=models.CharField(blank=True, max_length=200)),
        migrations.AddField(model_name="signingkey", name="compromise_tokens_revoked", field=models.PositiveIntegerField(default=0)),
        migrations.RunPython(from_the_audit_log, migrations.RunPython.noop),
    ]
