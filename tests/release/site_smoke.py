"""Run inside a fresh ``wagtail start`` site where the built wheel is installed (not this checkout).

tests/release/test_installed_wheel.py copies this file into the site and runs it with the site's
own virtualenv; it prints one JSON line that the test reads. Everything here uses only what a user
of the published package has: the wheel, its dependencies and the site ``wagtail start`` made.
"""

import io
import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings.dev")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.images import ImageFile  # noqa: E402
from django.template import engines  # noqa: E402
from django.test import Client  # noqa: E402
from PIL import Image as PILImage  # noqa: E402
from PIL import ImageDraw  # noqa: E402
from wagtail.images.models import Image  # noqa: E402
from wagtail.users.models import UserProfile  # noqa: E402

import wagtail_bgcut  # noqa: E402
from wagtail_bgcut.models import Cutout  # noqa: E402

# A red disc on a light grey studio background: the local engine must keep the disc.
photo = PILImage.new("RGB", (320, 240), (228, 228, 224))
ImageDraw.Draw(photo).ellipse((100, 60, 220, 180), fill=(200, 30, 40))
buffer = io.BytesIO()
photo.save(buffer, format="JPEG", quality=92)
buffer.seek(0)
# Saving the image queues its AUTO_PROCESS presets; django-tasks' default ImmediateBackend runs
# them at once.
image = Image.objects.create(title="Smoke", file=ImageFile(buffer, name="smoke.jpg"))

template = engines["django"].from_string(
    '{% load bgcut_tags wagtailimages_tags %}{% bgcut image "full" %}\n'
    "{% image image bgcut-full width-160 %}"
)
tag_html, rendition_html = template.render({"image": image}).split("\n")
rendition = image.get_rendition("bgcut-full|width-160")
with rendition.file.open("rb") as handle:
    rendered = PILImage.open(handle)
    rendered.load()

# The admin in French: the compiled catalog must ship in the wheel.
user = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
profile = UserProfile.get_for_user(user)
profile.preferred_language = "fr"
profile.save()
client = Client()
client.force_login(user)
status_page = client.get("/admin/bgcut/status/")
static_root = os.path.join(os.path.dirname(wagtail_bgcut.__file__), "static")

print(
    "BGCUT-RESULT"
    + json.dumps(
        {
            "python": sys.version.split()[0],
            "package_file": wagtail_bgcut.__file__,
            "cutouts": list(Cutout.objects.values_list("preset", "status")),
            "tag_html": tag_html,
            "rendition_html": rendition_html,
            "rendition_mode": rendered.mode,
            "rendition_size": list(rendered.size),
            "corner_alpha": rendered.getpixel((0, 0))[3] if rendered.mode == "RGBA" else None,
            "centre": list(rendered.getpixel((rendered.width // 2, rendered.height // 2))),
            "status_code": status_page.status_code,
            "status_html": status_page.content.decode(),
            "has_static": os.path.isfile(
                os.path.join(static_root, "wagtail_bgcut", "js", "bgcut-cutout.js")
            ),
        }
    )
)
