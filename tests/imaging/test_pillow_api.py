"""The Django-free Pillow API and the Willow operation, as a user would call them."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.imaging.helpers import disc_photo, iou
from tests.imaging.onnx_models import red_subject_model
from wagtail_bgcut.pillow import remove_background, segment
from wagtail_bgcut.variants import InvalidVariant

ROOT = Path(__file__).resolve().parents[2]


def test_remove_background_returns_a_transparent_cutout():
    photo, truth = disc_photo()
    result = remove_background(photo)
    assert isinstance(result, Image.Image)
    assert result.mode == "RGBA" and result.size == photo.size
    assert iou(np.asarray(result.getchannel("A")) >= 128, truth) > 0.9


def test_variant_options_shape_the_result():
    photo, _truth = disc_photo((320, 240), radius=60)
    thumb = remove_background(photo, format="webp", autocrop=True, max_resolution=250_000)
    assert thumb.format == "WEBP"
    assert abs(thumb.width - 121) <= 3 and abs(thumb.height - 121) <= 3  # the disc's bounds
    white = remove_background(photo, format="jpg", background_color="#00ff00")
    assert white.format == "JPEG" and white.mode == "RGB"
    r, g, b = white.getpixel((2, 2))
    assert g > 240 and r < 20 and b < 20


def test_bad_variant_options_are_refused():
    photo, _ = disc_photo()
    with pytest.raises(InvalidVariant, match="format"):
        remove_background(photo, format="gif")
    with pytest.raises(InvalidVariant, match="unknown option"):
        remove_background(photo, colour="#ffffff")


def test_an_onnx_model_can_be_named(tmp_path):
    model = red_subject_model(tmp_path / "tiny.onnx")
    photo, truth = disc_photo(colour=(210, 30, 30), background=(40, 60, 210))
    result = remove_background(photo, model_path=model)
    assert iou(np.asarray(result.getchannel("A")) >= 128, truth) > 0.9


def test_segment_returns_a_cutout_of_the_clicked_subject():
    photo, truth = disc_photo()
    result = segment(photo, green=[(80, 60)], red=[(5, 5)])
    assert result.mode == "RGBA" and result.size == photo.size
    assert iou(np.asarray(result.getchannel("A")) >= 128, truth) > 0.9


def test_works_with_only_the_base_install_and_no_django_settings(tmp_path):
    photo, _ = disc_photo()
    source = tmp_path / "photo.png"
    photo.save(source)
    script = (
        "import sys\n"
        "from PIL import Image\n"
        "from wagtail_bgcut.pillow import remove_background\n"
        f"out = remove_background(Image.open({str(source)!r}), format='webp')\n"
        "from django.conf import settings\n"
        "assert not settings.configured\n"
        "assert 'wagtail_bgcut.models' not in sys.modules\n"
        "print(out.format, out.mode, out.size)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "WEBP RGBA (160, 120)"


def test_willow_operation_on_a_pillow_image():
    from willow.image import Image as WillowImage
    from willow.plugins.pillow import PillowImage

    from wagtail_bgcut.willow import register_operations

    register_operations()
    photo, truth = disc_photo()
    buffer = io.BytesIO()
    photo.save(buffer, "PNG")
    buffer.seek(0)
    willow = WillowImage.open(buffer)
    result = willow.remove_background(background_color="#ffffff")
    assert isinstance(result, PillowImage)
    assert result.get_size() == (160, 120)
    assert result.image.getpixel((1, 1)) == (255, 255, 255)
    transparent = willow.remove_background()
    assert transparent.has_alpha()
    alpha = np.asarray(transparent.image.getchannel("A")) >= 128
    assert iou(alpha, truth) > 0.9
