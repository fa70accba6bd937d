"""The published artefacts, tested as a user gets them: the built wheel in a fresh virtualenv.

Every other test imports the package from the working tree (an editable install), so a template,
static file, migration or translation left out of the wheel would pass them all. These tests take
the wheel and sdist that ``python -m build`` made (``make test-release`` builds them into dist/
and sets ``BGCUT_RELEASE_DIST``), install the wheel into a new virtualenv next to a site made by
``wagtail start``, and use it there. pip resolves the dependencies from the index (its cache makes
a second run quick). Without ``BGCUT_RELEASE_DIST`` they skip: the ordinary passes do not build.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = os.environ.get("BGCUT_RELEASE_DIST")

pytestmark = [
    pytest.mark.release,
    pytest.mark.skipif(
        not DIST,
        reason="needs BGCUT_RELEASE_DIST=<folder with the built wheel and sdist>; "
        "`make test-release` builds them and runs these tests",
    ),
]

SITE_APPS = """
INSTALLED_APPS += ["wagtail_bgcut"]
WAGTAIL_BGCUT = {
    "BACKEND": "local",
    "PRESETS": {"full": {"format": "png"}},
    "AUTO_PROCESS": ["full"],
}
"""


def _one(pattern: str) -> Path:
    found = sorted(Path(DIST).resolve().glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {DIST}, found {found}"
    return found[0]


@pytest.fixture(scope="module")
def wheel() -> Path:
    return _one("wagtail_bgcut-*.whl")


@pytest.fixture(scope="module")
def sdist() -> Path:
    return _one("wagtail_bgcut-*.tar.gz")


def _run(args: list, cwd: Path, env: dict | None = None, timeout: int = 900) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
    return done.stdout


def test_wheel_holds_templates_static_migrations_and_compiled_translations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for tracked in _git_files("wagtail_bgcut"):
        if tracked.endswith((".html", ".js", ".css", ".po", ".mo", ".typed")) or (
            "/migrations/" in tracked and tracked.endswith(".py")
        ):
            assert tracked in names, f"{tracked} is in git but not in the wheel"
    assert "wagtail_bgcut/locale/fr/LC_MESSAGES/django.mo" in names
    assert not [n for n in names if n.startswith(("tests/", "docs/", "example_project/"))]


def test_sdist_carries_every_tracked_file(sdist):
    with tarfile.open(sdist) as archive:
        prefix = archive.getnames()[0].split("/")[0]
        names = {n.removeprefix(prefix + "/") for n in archive.getnames()}
    missing = [f for f in _git_files() if f not in names]
    assert not missing, f"tracked files missing from the sdist: {missing}"
    for needed in ("CHANGELOG.md", "docs/index.md", "tests/conftest.py", "mkdocs.yml"):
        assert needed in names


def _git_files(under: str = ".") -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist): nothing to compare with")
    out = _run(["git", "ls-files", "--", under], ROOT)
    return [line for line in out.splitlines() if line]


@pytest.fixture(scope="module")
def installed_site(wheel, tmp_path_factory):
    """A new virtualenv with only the wheel (and its dependencies), and a `wagtail start` site."""
    work = tmp_path_factory.mktemp("wheel-site")
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", venv], work)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BGCUT_", "DJANGO_"))}
    env.pop("PYTHONPATH", None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    _run([python, "-m", "pip", "install", "--quiet", wheel], work, env)
    site = work / "site"
    site.mkdir()
    _run([venv / "bin" / "wagtail", "start", "mysite", site], work, env)
    with (site / "mysite" / "settings" / "base.py").open("a") as settings:
        settings.write(SITE_APPS)
    shutil.copy(Path(__file__).with_name("site_smoke.py"), site / "site_smoke.py")
    return {"python": python, "site": site, "env": env}


def _manage(site: dict, *args: str) -> str:
    return _run([site["python"], "manage.py", *args], site["site"], site["env"])


def test_installed_wheel_passes_checks_and_migrates(installed_site):
    assert "no issues" in _manage(installed_site, "check")
    _manage(installed_site, "migrate", "--noinput")
    shown = _manage(installed_site, "showmigrations", "wagtail_bgcut")
    assert "[X] 0001_initial" in shown and "[ ]" not in shown
    # The wheel's migrations match its models: nothing left for the user to generate.
    _manage(installed_site, "makemigrations", "wagtail_bgcut", "--check", "--dry-run")


@pytest.fixture(scope="module")
def smoke(installed_site):
    _manage(installed_site, "migrate", "--noinput")
    out = _run(
        [installed_site["python"], "site_smoke.py"], installed_site["site"], installed_site["env"]
    )
    line = next(x for x in out.splitlines() if x.startswith("BGCUT-RESULT"))
    return json.loads(line.removeprefix("BGCUT-RESULT"))


def test_package_is_imported_from_the_wheel_not_the_checkout(smoke):
    assert "site-packages" in smoke["package_file"]
    assert not smoke["package_file"].startswith(str(ROOT))
    assert smoke["has_static"]


def test_saved_image_gets_a_local_engine_cutout(smoke):
    assert smoke["cutouts"] == [["full", "done"]]


def test_template_tag_and_image_operation_render_the_cutout(smoke):
    # The tag points at the stored cut-out (a PNG under UPLOAD_TO), not at the original JPEG.
    assert re.search(r'<img [^>]*src="/media/bgcut/[^"]+\.png"', smoke["tag_html"])
    assert "original_images" not in smoke["tag_html"]
    assert 'width="160"' in smoke["rendition_html"]
    # The rendition is transparent where the grey background was and keeps the red disc.
    assert smoke["rendition_mode"] == "RGBA"
    assert smoke["rendition_size"] == [160, 120]
    assert smoke["corner_alpha"] == 0
    red, green, blue, alpha = smoke["centre"]
    assert alpha == 255 and red > 150 and green < 80 and blue < 80


def test_admin_speaks_french_from_the_compiled_catalog(smoke):
    assert smoke["status_code"] == 200
    assert "Aucun détourage en échec." in smoke["status_html"]
    assert "No failed cut-outs." not in smoke["status_html"]
