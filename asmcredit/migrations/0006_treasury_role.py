from django.db import migrations

ROLE = "treasury"


def create_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=ROLE)


def remove_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=ROLE).delete()


class Migration(migrations.Migration):
    dependencies = [("asmcredit", "0005_outbox_message")]
    operations = [migrations.RunPython(create_role, remove_role)]
