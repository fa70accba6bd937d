"""The suite's one place to make test images, Wagtail images, collections and users (factory-boy).

``ImageBytesFactory`` draws a real encoded image: a subject (a disc, or a rectangle) on a plain
background. Each recipe the tests rely on is a trait, pixel for pixel as the tests have always had
it, because some tests judge pixels and the local engine's cut depends on them::

    ImageBytesFactory(seed=3)                       # red disc on light grey, 64x48 PNG
    ImageBytesFactory(red_on_white=True, fmt="JPEG")
    WagtailImageFactory(data__seed=5, title="Shoe")  # a saved Wagtail image of such bytes

The Django factories resolve their models by name, so importing this module needs no app registry.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterable
from typing import Any

import factory
from django.conf import settings
from django.core.files.images import ImageFile
from PIL import Image, ImageDraw
from wagtail.images import get_image_model_string

__all__ = [
    "PASSWORD",
    "CollectionFactory",
    "CustomImageFactory",
    "EditorFactory",
    "ImageBytesFactory",
    "ProductFactory",
    "UserFactory",
    "WagtailImageFactory",
    "decode",
    "encode",
    "png_bomb",
    "root_collection",
]

PASSWORD = "correct horse battery"

Box = tuple[int, int, int, int]
RGB = tuple[int, int, int]

# The colours the recipes below are made of.
WHITE: RGB = (255, 255, 255)
LIGHT_GREY: RGB = (235, 235, 235)
SHOP_GREY: RGB = (232, 232, 232)
RED: RGB = (200, 30, 30)
YELLOW: RGB = (230, 200, 30)
BLUE: RGB = (40, 120, 200)

# A red ball on light grey, 96x72: the admin's and the direct upload's photo.
_BALL = {"width": 96, "height": 72, "colour": RED, "background": SHOP_GREY, "band": 6}


def encode(img: Image.Image, fmt: str, **params: Any) -> bytes:
    """``img`` saved as ``fmt`` (Pillow's format name), in memory."""
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def decode(data: bytes) -> Image.Image:
    """Open and fully load encoded image bytes (so errors surface here, not later)."""
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A valid PNG header announcing a huge image, with almost no pixel data behind it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def draw_image(
    *,
    width: int,
    height: int,
    mode: str,
    background: RGB,
    subject: str,
    box: Box,
    colour: RGB,
    highlight: tuple[Box, RGB] | None,
    fmt: str,
    quality: int | None,
    orientation: int | None,
) -> bytes:
    """One subject (``"disc"`` or ``"rectangle"``, ``box`` inclusive) on a plain background."""
    img = Image.new(mode, (width, height), background)
    draw = ImageDraw.Draw(img)
    (draw.ellipse if subject == "disc" else draw.rectangle)(box, fill=colour)
    if highlight is not None:
        draw.ellipse(highlight[0], fill=highlight[1])
    params: dict[str, Any] = {}
    if quality is not None:
        params["quality"] = quality
    if orientation is not None:  # EXIF: stored one way, displayed another
        exif = Image.Exif()
        exif[0x0112] = orientation
        params["exif"] = exif
    return encode(img, fmt, **params)


def _disc_box(o: Any) -> Box:
    """The disc of the disc recipes: a band of rows, moved right by the seed (or narrowed)."""
    dx = o.seed % o.wrap if o.wrap else o.seed
    return (
        o.width // 4 + dx,
        o.height // o.band,
        3 * o.width // 4 + (0 if o.narrows else dx),
        (o.band - 1) * o.height // o.band,
    )


class ImageBytesFactory(factory.Factory):
    """Encoded image bytes. Without a trait: a red disc on light grey, 64x48 PNG, that ``seed``
    moves right by ``seed % 7`` pixels, so different seeds give different bytes.

    Traits (each a recipe some tests judge pixels of):

    - ``red_on_white``: a red disc on white, the same for every seed (what the API tests upload).
    - ``yellow_on_blue``: a yellow disc on blue, 96x64 JPEG at quality 90.
    - ``ball``: a red ball on light grey, 96x72; ``seed`` moves it by ``seed % 5``.
    - ``squashed_ball``: the same ball, but ``seed`` pushes only its left edge in.
    - ``green_square``: a green square on red, 32x24 (``mode="RGBA"`` works too).
    - ``big_ball``: a red ball with a highlight on a grey floor, 480x360 JPEG, big enough to click.
    """

    class Meta:
        model = bytes

    width = 64
    height = 48
    mode = "RGB"
    fmt = "PNG"
    quality = None
    orientation = None
    background = LIGHT_GREY
    subject = "disc"
    colour = (200, 40, 40)
    highlight = None
    box = factory.LazyAttribute(_disc_box)

    class Params:
        seed = 0
        band = 5  # the disc spans rows height // band to (band - 1) * height // band
        wrap = 7  # the seed moves the disc by seed % wrap pixels (None: by seed)
        narrows = False  # True: only the left edge moves

        red_on_white = factory.Trait(colour=(220, 20, 20), background=WHITE, band=6, wrap=1)
        yellow_on_blue = factory.Trait(
            width=96, height=64, colour=YELLOW, background=BLUE, fmt="JPEG", quality=90
        )
        ball = factory.Trait(**_BALL, wrap=5)
        squashed_ball = factory.Trait(**_BALL, wrap=None, narrows=True)
        green_square = factory.Trait(
            width=32,
            height=24,
            subject="rectangle",
            colour=(20, 160, 40),
            background=RED,
            box=factory.LazyAttribute(
                lambda o: (o.width // 4, o.height // 4, 3 * o.width // 4 - 1, 3 * o.height // 4 - 1)
            ),
        )
        big_ball = factory.Trait(
            width=480,
            height=360,
            colour=(205, 35, 35),
            background=(226, 226, 222),
            box=(150, 70, 330, 290),
            highlight=((200, 110, 240, 150), (240, 120, 120)),
            fmt="JPEG",
            quality=92,
        )

    @classmethod
    def _build(cls, model_class: type, *args: Any, **kwargs: Any) -> bytes:
        return draw_image(**kwargs)

    _create = _build  # bytes have nothing to save


def root_collection() -> Any:
    """Wagtail's root collection, put back if an earlier test took it away.

    A transactional test (``transaction=True``, ``live_server``) flushes every table afterwards,
    including the rows Wagtail's migrations create; images and collections need the root.
    """
    from wagtail.models import Collection

    return Collection.get_first_root_node() or Collection.add_root(name="Root")


class CollectionFactory(factory.django.DjangoModelFactory):
    """A Wagtail collection under ``parent`` (the root collection unless given)."""

    class Meta:
        model = "wagtailcore.Collection"

    name = factory.Sequence(lambda n: f"Collection {n}")
    parent = factory.LazyFunction(root_collection)

    @classmethod
    def _create(cls, model_class: type, *args: Any, parent: Any, **kwargs: Any) -> Any:
        return parent.add_child(**kwargs)


class WagtailImageFactory(factory.django.DjangoModelFactory):
    """A saved image of ``get_image_model()`` with a real file: ``data`` (bytes, an
    ``ImageBytesFactory`` by default, so ``data__seed=3`` works) stored as ``filename``.

    ``file_metadata=True`` sets file size and hash before saving, as Wagtail's upload form does.
    ``tags`` are added after the save. ``yellow_disc=True``: a yellow disc on blue (JPEG), titled
    "Yellow disc", which the local engine cuts in a fraction of a second.
    """

    class Meta:
        model = get_image_model_string()
        skip_postgeneration_save = True

    title = "test"
    collection = factory.LazyFunction(root_collection)
    file = factory.LazyAttribute(lambda o: ImageFile(io.BytesIO(o.data), name=o.filename))
    file_metadata = False

    class Params:
        data = factory.SubFactory(ImageBytesFactory)
        filename = "photo.png"
        yellow_disc = factory.Trait(
            title="Yellow disc", filename="disc.jpg", data__yellow_on_blue=True
        )

    @classmethod
    def _build(
        cls, model_class: type, *args: Any, file_metadata: bool = False, **kwargs: Any
    ) -> Any:
        image = model_class(*args, **kwargs)
        if file_metadata:
            image._set_image_file_metadata()
        return image

    @classmethod
    def _create(
        cls, model_class: type, *args: Any, file_metadata: bool = False, **kwargs: Any
    ) -> Any:
        image = cls._build(model_class, *args, file_metadata=file_metadata, **kwargs)
        image.save()
        return image

    @factory.post_generation
    def tags(image: Any, create: bool, extracted: Iterable[str] | None, **kwargs: Any) -> None:
        if extracted:
            image.tags.add(*extracted)


class CustomImageFactory(WagtailImageFactory):
    """An image of the suite's second Wagtail image model (``tests.testapp``'s CustomImage)."""

    class Meta:
        model = "testapp.CustomImage"


class ProductFactory(factory.django.DjangoModelFactory):
    """A saved ``tests.testapp`` Product (a plain Django model) whose photo is ``data`` (bytes, an
    ``ImageBytesFactory`` by default) stored as ``filename``."""

    class Meta:
        model = "testapp.Product"

    name = "mug"
    photo = factory.LazyAttribute(lambda o: ImageFile(io.BytesIO(o.data), name=o.filename))

    class Params:
        data = factory.SubFactory(ImageBytesFactory)
        filename = "p.png"


class UserFactory(factory.django.DjangoModelFactory):
    """A user who can log in with ``PASSWORD``; ``superuser=True`` for one with every right."""

    class Meta:
        model = settings.AUTH_USER_MODEL
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password(PASSWORD)

    class Params:
        superuser = factory.Trait(is_superuser=True, is_staff=True)


class EditorFactory(UserFactory):
    """A user of the Wagtail admin (a group of their own with ``access_admin``) who may add,
    change and choose images in ``collection`` (in none when not given)."""

    @factory.post_generation
    def collection(user: Any, create: bool, extracted: Any, **kwargs: Any) -> None:
        from django.contrib.auth.models import Group, Permission
        from wagtail.models import GroupCollectionPermission

        group = Group.objects.create(name=f"{user.username} group")
        group.permissions.add(Permission.objects.get(codename="access_admin"))
        if extracted is not None:
            for codename in ("add_image", "change_image", "choose_image"):
                GroupCollectionPermission.objects.create(
                    group=group,
                    collection=extracted,
                    permission=Permission.objects.get(
                        codename=codename, content_type__app_label="wagtailimages"
                    ),
                )
        user.groups.add(group)
