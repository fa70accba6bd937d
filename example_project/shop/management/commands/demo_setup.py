"""Prepare the example site: admin user, home page, sample images, products. Idempotent."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.images import ImageFile
from django.core.management.base import BaseCommand
from django.db import transaction
from wagtail.images import get_image_model
from wagtail.models import Page, Site

from shop.models import HomePage, Product, _engine_label

SAMPLES = Path(__file__).resolve().parents[3] / "sample_images"
PRODUCTS = [
    ("coffee.jpg", "Coffee cup", "A cup of coffee on a saucer."),
    ("chelsea.jpg", "Chelsea the cat", "Not for sale."),
    ("astronaut.jpg", "Astronaut portrait", "Eileen Collins, NASA."),
    ("rocket.jpg", "Rocket launch", "DSCOVR on Falcon 9."),
]
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "changeme"  # demo only: printed below, never use outside the demo


class Command(BaseCommand):
    help = "Create the demo admin user, home page, sample images and products (idempotent)."

    def handle(self, *args, **options):
        with transaction.atomic():
            self._admin()
            self._home()
            self._products()
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo ready on http://127.0.0.1:8000/"))
        self.stdout.write("  admin:     http://127.0.0.1:8000/admin/")
        self.stdout.write("  upload:    http://127.0.0.1:8000/upload/ (direct browser uploads)")
        self.stdout.write(f"  login:     {ADMIN_USERNAME} / {ADMIN_PASSWORD}")
        self.stdout.write(f"  engine:    {_engine_label()}")
        if "built-in" in _engine_label():
            self.stdout.write(
                "  (no model fetched: the built-in segmenter is good on plain studio backdrops "
                "only; `python manage.py bgcut_model fetch isnet-imgly-small` needs npm)"
            )

    def _admin(self):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=ADMIN_USERNAME,
            defaults={"email": "admin@example.com", "is_staff": True, "is_superuser": True},
        )
        if created:
            user.set_password(ADMIN_PASSWORD)
            user.save()

    def _home(self):
        home = HomePage.objects.first()
        if home:
            return home
        root = Page.get_first_root_node()
        home = root.add_child(
            instance=HomePage(
                title="Example shop",
                slug="shop-home",
                intro="Products photographed anywhere, shown with their backgrounds removed.",
            )
        )
        site = Site.objects.filter(is_default_site=True).first()
        if site is None:
            Site.objects.create(
                hostname="127.0.0.1", port=8000, root_page=home, is_default_site=True
            )
        else:
            old_root = site.root_page
            site.root_page = home
            site.save()
            if old_root.specific_class is Page and old_root.pk != home.pk:
                old_root.delete()  # Wagtail's placeholder "Welcome" page
        return home

    def _products(self):
        Image = get_image_model()
        for filename, name, description in PRODUCTS:
            if Product.objects.filter(name=name).exists():
                continue
            path = SAMPLES / filename
            image = Image.objects.filter(title=name).first()
            if image is None:
                with path.open("rb") as handle:
                    image = Image(title=name)
                    image.file = ImageFile(handle, name=filename)
                    image.save()
                self.stdout.write(f"  loaded sample image {filename}")
            Product.objects.create(name=name, description=description, photo=image)
