"""The Consumer model moves to the queue app (queue 0001 takes it over, table and rows)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0004_consumer"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Consumer")],
            database_operations=[],  # the table stays; queue 0001 adopts it
        ),
    ]
