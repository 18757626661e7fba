"""The lab's first gateway demo processes (issue 11): two gateway replicas, the auth service,
two catalog and two bidding replicas, and the bidding bots."""

from django.db import migrations

DEFAULT_PROCESSES = [
    ("gateway", "gateway-1"),
    ("gateway", "gateway-2"),
    ("auth", "auth-1"),
    ("catalog", "catalog-1"),
    ("catalog", "catalog-2"),
    ("bidding", "bidding-1"),
    ("bidding", "bidding-2"),
    ("auctionbots", "auctionbots"),
]


def forwards(apps, schema_editor):
    GatewayProcess = apps.get_model("gateway", "GatewayProcess")
    for kind, name in DEFAULT_PROCESSES:
        GatewayProcess.objects.get_or_create(name=name, defaults={"kind": kind})


def backwards(apps, schema_editor):
    GatewayProcess = apps.get_model("gateway", "GatewayProcess")
    GatewayProcess.objects.filter(name__in=[name for _, name in DEFAULT_PROCESSES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("gateway", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
