"""A webhook's URL is kept encrypted, as its secret is: a chat's incoming-webhook URL is that
channel's only credential. Lists, ordering and the audit trail read url_shown (its origin and a
fingerprint of the rest)."""

from django.db import migrations, models


def encrypt_urls(apps, schema_editor):
    from nhiportal.encryption import encrypt
    from nhiportal.webhooks.models import shown_url

    Endpoint = apps.get_model("webhooks", "WebhookEndpoint")
    for endpoint in Endpoint.objects.all():
        Endpoint.objects.filter(pk=endpoint.pk).update(url_encrypted=encrypt(endpoint.url.encode()), url_shown=shown_url(endpoint.url))


def decrypt_urls(apps, schema_editor):
    from nhiportal.encryption import decrypt

    Endpoint = apps.get_model("webhooks", "WebhookEndpoint")
    for endpoint in Endpoint.objects.all():
        Endpoint.objects.filter(pk=endpoint.pk).update(url=decrypt(bytes(endpoint.url_encrypted)).decode())


class Migration(migrations.Migration):

    dependencies = [
        ("webhooks", "0002_payload_format"),
    ]

    operations = [
        migrations.AddField(model_name="webhookendpoint", name="url_encrypted", field=models.BinaryField(null=True)),
        migrations.AddField(
            model_name="webhookendpoint", name="url_shown",
            field=models.CharField(default="", help_text="origin and a fingerprint of the rest (shown_url)", max_length=300),
            preserve_default=False,
        ),
        migrations.AlterField(model_name="webhookendpoint", name="url", field=models.URLField(max_length=500, blank=True, default="")),
        migrations.RunPython(encrypt_urls, decrypt_urls),
        migrations.AlterModelOptions(name="webhookendpoint", options={"ordering": ["url_shown"]}),
        migrations.RemoveField(model_name="webhookendpoint", name="url"),
        migrations.AlterField(model_name="webhookendpoint", name="url_encrypted", field=models.BinaryField()),
    ]
