"""The Consumer model, moved here from the dashboard app: its table, rows and permissions
are kept (renamed to queue_consumer, its content type relabelled)."""

import django.core.validators
from django.db import migrations, models


def relabel_content_type(apps, schema_editor):
    """The admin's permissions on consumers follow the model to its new app."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="dashboard", model="consumer").update(app_label="queue")


def unlabel_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="queue", model="consumer").update(app_label="dashboard")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("dashboard", "0005_consumer_moves_to_queue"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Consumer",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(help_text="Its id everywhere in the lab, e.g. consumer-3 (not a node's name).", max_length=40, unique=True, validators=[django.core.validators.RegexValidator("^[a-z0-9][a-z0-9-]{0,39}$", "Lower-case letters, digits and dashes, starting with a letter or digit (max 40).")])),
                        ("work_ms", models.PositiveIntegerField(default=0, help_text="Time it spends on every job, on top of what the job asks. Applied live.", validators=[django.core.validators.MaxValueValidator(2000)], verbose_name="work per job (ms)")),
                        ("enabled", models.BooleanField(default=True, help_text="Unticked: the consumer is stopped gracefully (SIGTERM).")),
                    ],
                    options={"ordering": ["name"], "db_table": "dashboard_consumer"},
                ),
            ],
            database_operations=[],  # the dashboard's table, with its rows
        ),
        migrations.AlterModelTable(name="consumer", table=None),  # renamed to queue_consumer
        migrations.RunPython(relabel_content_type, unlabel_content_type),
    ]
