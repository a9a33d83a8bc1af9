# Encrypted connection secrets (issue 3). vault_uid is the row identity bound into every
# ciphertext; existing rows get distinct UUIDs before the column becomes unique.

import uuid

import settings_app.security.fields
from django.db import migrations, models


def fill_vault_uids(apps, schema_editor):
    RepositoryConnection = apps.get_model("integrations", "RepositoryConnection")
    for pk in RepositoryConnection.objects.values_list("pk", flat=True):
        RepositoryConnection.objects.filter(pk=pk).update(vault_uid=uuid.uuid4())


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="repositoryconnection",
            name="vault_uid",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(fill_vault_uids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="repositoryconnection",
            name="vault_uid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AddField(
            model_name="repositoryconnection",
            name="secrets",
            field=settings_app.security.fields.EncryptedJSONField(
                blank=True, default=dict, editable=False,
                help_text="The connector's sensitive parameters (encrypted, write-only).",
            ),
        ),
    ]
