from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("asmcredit", "0004_staff_token"),
    ]

    operations = [
        migrations.CreateModel(
            name="OutboxMessage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("task_name", models.CharField(max_length=200, verbose_name="task")),
                ("args", models.JSONField(blank=True, default=list, verbose_name="arguments")),
                ("kwargs", models.JSONField(blank=True, default=dict, verbose_name="keyword arguments")),
                ("created", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                ("dispatched_at", models.DateTimeField(blank=True, null=True, verbose_name="dispatched")),
                ("attempts", models.PositiveIntegerField(default=0, verbose_name="failed attempts")),
                ("last_error", models.TextField(blank=True, verbose_name="last error")),
            ],
            options={
                "verbose_name": "outbox message",
                "verbose_name_plural": "outbox messages",
                "ordering": ["id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("dispatched_at__isnull", True)), fields=["id"], name="outbox_pending"
                    )
                ],
            },
        ),
    ]
