"""The "Instructors" group with the control_lab permission, and the lab's first 3 nodes."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

DEFAULT_NODES = ["node-1", "node-2", "node-3"]


def forwards(apps, schema_editor):
    # Permissions are normally created after migrations run; make sure this one exists.
    config = apps.get_app_config("dashboard")
    config.models_module = True  # historical app configs have none; create_permissions needs one
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Node = apps.get_model("dashboard", "Node")
    instructors, _ = Group.objects.get_or_create(name="Instructors")
    instructors.permissions.add(
        Permission.objects.get(codename="control_lab", content_type__app_label="dashboard")
    )
    for name in DEFAULT_NODES:
        Node.objects.get_or_create(name=name)


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Instructors").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
