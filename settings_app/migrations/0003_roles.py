# The three role groups (tasktop_hub/roles.py). Their model permissions are assigned after each
# migrate by tasktop_hub.roles.sync_permissions, because permissions of apps migrated later do
# not exist yet at this point.

from django.db import migrations

ROLES = ("administrators", "integrators", "viewers")


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("settings_app", "0002_vault_key"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
