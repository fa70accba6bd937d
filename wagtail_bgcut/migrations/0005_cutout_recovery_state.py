from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_bgcut", "0004_cutout_kept_fraction"),
    ]

    operations = [
        migrations.AddField(
            model_name="cutout",
            name="output_url",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="cutout",
            name="output_url_expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="cutout",
            name="failed_call",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="cutout",
            name="may_have_been_charged",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="cutout",
            name="next_attempt_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
