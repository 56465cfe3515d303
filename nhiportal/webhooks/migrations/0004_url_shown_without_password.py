"""A webhook URL's password (https://svc:pw@host/…) is no longer in url_shown, which lists, the
admin and the audit trail read: it becomes *** ("svc:***@host"). url_shown is the origin and a
fingerprint of the rest, so masking its user part is all that changes; the encrypted URL, which
delivery reads, keeps the password. (Audit events written before keep what they said: the log
is append-only, so a password that was in one should be changed at the receiver.)"""

from django.db import migrations


def mask_passwords(apps, schema_editor):
    from nhiportal.webhooks.models import masked_url

    Endpoint = apps.get_model("webhooks", "WebhookEndpoint")
    for pk, shown in Endpoint.objects.filter(url_shown__contains="@").values_list("pk", "url_shown"):
        if (masked := masked_url(shown)) != shown:
            Endpoint.objects.filter(pk=pk).update(url_shown=masked)


class Migration(migrations.Migration):

    dependencies = [
        ("webhooks", "0003_url_encrypted"),
    ]

    operations = [
        migrations.RunPython(mask_passwords, migrations.RunPython.noop),
    ]
