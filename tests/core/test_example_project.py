"""Smoke test of the example project (``make demo``), booted with its own settings.

It runs in subprocesses because the suite's own settings are already loaded in this one. The local
engine makes every cut-out (no API key, no network): the home page must show the ``{% bgcut %}``
thumbnails and the ``bgcut-white`` Wagtail renditions.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "example_project"
PRODUCTS = ["Astronaut portrait", "Chelsea the cat", "Coffee cup", "Rocket launch"]

RENDER_HOME = """
import json
from django.core.management import call_command
from django.test import Client

call_command("migrate", interactive=False, verbosity=0)
call_command("demo_setup", verbosity=0)
call_command("demo_setup", verbosity=0)  # documented as safe to run twice
response = Client().get("/")
print("BGCUT-RESULT" + json.dumps({"status": response.status_code,
                                   "html": response.content.decode()}))
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BGCUT_", "DJANGO_"))}
    # The repository root first, so the package is imported from the working tree.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(PROJECT)])
    env["DJANGO_SETTINGS_MODULE"] = "example_project.settings"
    env["EXAMPLE_DB"] = str(tmp_path / "db.sqlite3")
    env["EXAMPLE_MEDIA_ROOT"] = str(tmp_path / "media")
    return env


def _run(args: list[str], tmp_path: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_manage_check_passes_and_migrations_are_complete(tmp_path):
    checked = _run(["manage.py", "check", "--fail-level", "WARNING"], tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "no issues" in checked.stdout
    migrations = _run(["manage.py", "makemigrations", "--check", "--dry-run"], tmp_path)
    assert migrations.returncode == 0, migrations.stdout + migrations.stderr


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("example")
    done = _run(["-c", "import django; django.setup()\n" + RENDER_HOME], tmp_path, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("BGCUT-RESULT"))
    result = json.loads(line.removeprefix("BGCUT-RESULT"))
    result["media"] = tmp_path / "media"
    return result


def _img_tags(html: str) -> list[dict[str, str]]:
    return [
        dict(re.findall(r'([\w-]+)="([^"]*)"', tag)) for tag in re.findall(r"<img [^>]*>", html)
    ]


def test_home_page_renders_cutouts_from_the_local_engine(home):
    assert home["status"] == 200
    html = home["html"]
    for name in PRODUCTS:
        assert f"<h2>{name}</h2>" in html
    # AUTO_PROCESS made the thumbnails when demo_setup saved the images: nothing is pending.
    assert "Background removal pending" not in html
    thumbs = [t for t in _img_tags(html) if t.get("class") == "thumb"]
    assert sorted(t["alt"] for t in thumbs) == PRODUCTS
    for tag in thumbs:
        assert tag["src"].startswith("/media/bgcut/") and tag["src"].endswith(".webp")
        path = home["media"] / tag["src"].removeprefix("/media/")
        with Image.open(path) as cut:
            assert cut.format == "WEBP"
            assert (str(cut.width), str(cut.height)) == (tag["width"], tag["height"])
            assert cut.mode == "RGBA"
            alpha = cut.getchannel("A")
            assert alpha.getextrema() == (0, 255)  # a real cut-out: transparent and opaque parts


def test_home_page_renders_bgcut_white_renditions(home):
    renditions = [t for t in _img_tags(home["html"]) if "bgcut-white" in t.get("src", "")]
    assert sorted(t["alt"] for t in renditions) == PRODUCTS
    for tag in renditions:
        assert (tag["width"], tag["height"]) == ("240", "240")
        path = home["media"] / tag["src"].removeprefix("/media/")
        with Image.open(path) as picture:
            assert picture.format == "JPEG"  # the preset is a jpg on white
            assert picture.size == (240, 240)
