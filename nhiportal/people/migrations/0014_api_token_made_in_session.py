# Tokens made before keep an empty made_in_session: no session's ending revokes them.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('people', '0013_session_sign_in_details'),
    ]

    operations = [
        migrations.AddField(
            model_name='personalapitoken',
            name='made_in_session',
            field=models.CharField(blank=True, db_index=True, default='', editable=False, max_length=64),
        ),
    ]
