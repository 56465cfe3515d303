# Each lock of the code step lasts twice the one before, until a right code.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('people', '0014_api_token_made_in_session'),
    ]

    operations = [
        migrations.AddField(
            model_name='secondfactor',
            name='locks_in_a_row',
            field=models.PositiveSmallIntegerField(default=0),
        ),
    ]
