"""The gateway demo's processes, configured in the admin like the nodes."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name='GatewayProcess',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='Its id everywhere in the lab, starting with its kind: gateway-3, catalog-2, auctionbots. Renaming restarts it under the new name.', max_length=40, unique=True, validators=[django.core.validators.RegexValidator('^[a-z0-9][a-z0-9-]{0,39}$', 'Lower-case letters, digits and dashes, starting with a letter or digit (max 40).')])),
                ('kind', models.CharField(choices=[('gateway', 'gateway replica'), ('auth', 'auth service'), ('catalog', 'catalog replica'), ('bidding', 'bidding replica'), ('auctionbots', 'bidding bots')], help_text='What it runs: manage.py <kind> --id <name>, on a free port of its own (the bots listen on none).', max_length=20)),
                ('enabled', models.BooleanField(default=True, help_text='Unticked: the process is stopped gracefully (SIGTERM). At most 4 of a kind run at once (2 auth services, 1 bots process).')),
            ],
            options={
                'verbose_name': 'gateway demo process',
                'verbose_name_plural': 'gateway demo processes',
                'ordering': ['kind', 'name'],
            },
        ),
    ]
