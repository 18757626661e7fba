"""Queue consumers, configured like nodes; the lab's first two."""

import django.core.validators
from django.db import migrations, models

DEFAULT_CONSUMERS = ["consumer-1", "consumer-2"]


def forwards(apps, schema_editor):
    Consumer = apps.get_model("dashboard", "Consumer")
    for name in DEFAULT_CONSUMERS:
        Consumer.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0003_node_jitter"),
    ]

    operations = [
        migrations.CreateModel(
            name="Consumer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(help_text="Its id everywhere in the lab, e.g. consumer-3 (not a node's name).", max_length=40, unique=True, validators=[django.core.validators.RegexValidator("^[a-z0-9][a-z0-9-]{0,39}$", "Lower-case letters, digits and dashes, starting with a letter or digit (max 40).")])),
                ("work_ms", models.PositiveIntegerField(default=0, help_text="Time it spends on every job, on top of what the job asks. Applied live.", validators=[django.core.validators.MaxValueValidator(2000)], verbose_name="work per job (ms)")),
                ("enabled", models.BooleanField(default=True, help_text="Unticked: the consumer is stopped gracefully (SIGTERM).")),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
