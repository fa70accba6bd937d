from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_bgcut", "0002_cutout_retryable"),
    ]

    operations = [
        migrations.CreateModel(
            name="CreditSpend",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("credits", models.FloatField()),
                ("kind", models.CharField(max_length=40)),
                (
                    "user_id",
                    models.CharField(blank=True, db_index=True, default="", max_length=150),
                ),
                ("uncertain", models.BooleanField(default=False)),
            ],
            options={
                "verbose_name": "credit spend",
                "verbose_name_plural": "credit spends",
            },
        ),
    ]
