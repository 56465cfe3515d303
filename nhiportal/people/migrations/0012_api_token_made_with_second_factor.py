from django.db import migrations, models
from django.db.models import F


def mark_tokens_made_after_enrolment(apps, schema_editor):
    # A token made once its person had an authenticator app was made in a session that passed
    # a code: enrolling takes one, and so does every password sign-in after it. Earlier tokens
    # cannot tell, so a role that needs a second factor asks for new ones.
    PersonalAPIToken = apps.get_model("people", "PersonalAPIToken")
    PersonalAPIToken.objects.filter(
        user__second_factor__isnull=False, created_at__gte=F("user__second_factor__confirmed_at"),
    ).update(made_with_second_factor=True)


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0011_second_factor_wrong_codes"),
    ]

    operations = [
        migrations.AddField(
            model_name="personalapitoken",
            name="made_with_second_factor",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(mark_tokens_made_after_enrolment, migrations.RunPython.noop),
    ]
