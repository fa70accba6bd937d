"""Push the hostile corpus through the demo site's doors, one request at a time, memory measured.

Run in a fresh process with the example project's settings (``make demo``'s site on a new SQLite
database), so what it measures is what the demo's own pages cost::

    cd example_project && PYTHONPATH=..:. DJANGO_SETTINGS_MODULE=example_project.settings \\
        EXAMPLE_DB=/tmp/probe.sqlite3 EXAMPLE_MEDIA_ROOT=/tmp/probe-media \\
        python -m tests.security.doors_probe --corpus /tmp/corpus \
        --doors public-local,public-api,admin,save,ai-cut

after writing the corpus with the test settings (``tests.hostile_files`` needs their apps)::

    DJANGO_SETTINGS_MODULE=tests.settings python -c \
        "import django; django.setup(); from tests.hostile_files import dump; dump('/tmp/corpus')"

Each request runs with the process's peak RSS reset first (``/proc/self/clear_refs``), so the
``VmHWM`` read after it is that request's peak (the process's own baseline included), and under a
``SIGALRM`` deadline: a request still running after it counts as a hang. Prints one JSON line
(``BGCUT-DOORS``) with every request's door, file, step, status, seconds and peak MB.
"""

# Each request is a closure called at once, inside its own loop iteration:
# ruff: noqa: B023

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import django

HANG_SECONDS = 120


class Hang(BaseException):
    """The request ran past ``HANG_SECONDS`` (BaseException: no ``except Exception`` eats it)."""


def _kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        return int(next(line for line in fh if line.startswith(field)).split()[1])


@contextlib.contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    def ring(*_: Any) -> None:
        raise Hang()

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


class Stored:
    """One corpus file written by ``tests.hostile_files.dump``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = os.path.basename(path)

    def make(self) -> bytes:
        with open(self.path, "rb") as fh:
            return fh.read()


def at_limit(folder: str) -> Stored:
    """A smooth photo-like JPEG of exactly ``DIRECT_UPLOAD_MAX_PIXELS`` (square)."""
    from PIL import Image, ImageDraw

    from wagtail_bgcut.direct_upload.limits import max_pixels

    side = int(max_pixels() ** 0.5)
    image = Image.radial_gradient("L").resize((side, side)).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((side // 4, side // 4, 3 * side // 4, 3 * side // 4), fill=(200, 40, 30))
    path = os.path.join(os.path.dirname(folder.rstrip("/")), f"at-limit-{side}x{side}.jpg")
    image.save(path, "JPEG", quality=85)
    return Stored(path)


class Probe:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def request(self, door: str, name: str, step: str, call: Callable[[], Any]) -> Any:
        """Run one request; record its status (or "hang"/the exception), time and peak memory."""
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current RSS
        base = _kb("VmRSS:")
        started = time.monotonic()
        response, status, detail = None, None, ""
        try:
            with _deadline(HANG_SECONDS):
                response = call()
            status = getattr(response, "status_code", None) or response[0]
            if isinstance(response, tuple) and isinstance(response[1], str):
                detail = response[1]
        except Hang:
            status = "hang"
        except Exception as exc:  # the test client re-raises a view's exception: a 500
            status = f"500 {type(exc).__name__}"
        self.rows.append(
            {
                "door": door,
                "file": name,
                "step": step,
                "status": status,
                "seconds": round(time.monotonic() - started, 3),
                "peak_mb": round(_kb("VmHWM:") / 1024, 1),
                "base_mb": round(base / 1024, 1),
                **({"detail": detail} if detail else {}),
            }
        )
        return response if isinstance(status, int) else None


def _extension(data: bytes) -> str:
    """The name an editor's file would have (Wagtail refuses a name that belies the content)."""
    for magic, ext in ((b"\xff\xd8", "jpg"), (b"GIF8", "gif"), (b"RIFF", "webp")):
        if data.startswith(magic):
            return ext
    return "png"


def _json(response: Any) -> dict:
    try:
        return response.json()
    except Exception:
        return {}


def public_upload(probe: Probe, door: str, corpus, client, api: bool) -> None:
    """The demo's /upload/ page and its widget's three calls (token, process, finalize)."""
    import requests

    for hostile in corpus:
        data = hostile.make()
        probe.request(door, hostile.name, "page", lambda: client.get("/upload/"))
        grant = probe.request(
            door,
            hostile.name,
            "token",
            lambda: client.post(
                "/upload/bgcut/token/",
                json.dumps({"presets": ["full", "thumbnail"]}),
                content_type="application/json",
            ),
        )
        grant = _json(grant) if grant is not None else {}
        if "token" not in grant:
            continue
        if api:

            def send() -> tuple[int, dict]:
                r = requests.post(
                    grant["process_url"],
                    data={"token": grant["token"]},
                    files={"image": ("photo.png", data)},
                    timeout=HANG_SECONDS,
                )
                return r.status_code, r.json()

            answer = probe.request(door, hostile.name, "process (API)", send)
            status, result = answer if answer else (None, {})
        else:
            from django.core.files.uploadedfile import SimpleUploadedFile

            response = probe.request(
                door,
                hostile.name,
                "process",
                lambda: client.post(
                    grant["process_url"],
                    {
                        "token": grant["token"],
                        "image": SimpleUploadedFile("photo.png", data, "image/png"),
                    },
                ),
            )
            status, result = (response.status_code, _json(response)) if response else (None, {})
        if status != 200:
            continue
        body = {
            "ticket": grant["ticket"],
            "token": grant["token"],
            "unique_filename": result.get("unique_filename"),
            "input_url": result.get("input_url"),
            "output_urls": result.get("output_urls"),
        }
        probe.request(
            door,
            hostile.name,
            "finalize",
            lambda: client.post(
                grant["finalize_url"], json.dumps(body), content_type="application/json"
            ),
        )


def admin_upload(probe: Probe, corpus, client) -> list[int]:
    """Wagtail's add-image view (AUTO_PROCESS runs in the request on ImmediateBackend)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse
    from wagtail.images import get_image_model

    added = []
    for hostile in corpus:
        before = set(get_image_model().objects.values_list("pk", flat=True))
        probe.request(
            "admin",
            hostile.name,
            "add image",
            lambda h=hostile: client.post(
                reverse("wagtailimages:add_multiple"),
                {"files[]": SimpleUploadedFile(f"upload.{_extension(h.make())}", h.make())},
                HTTP_X_REQUESTED_WITH="XMLHttpRequest",
            ),
        )
        new = set(get_image_model().objects.values_list("pk", flat=True)) - before
        probe.rows[-1]["detail"] = f"{len(new)} image(s) added"
        added += [(hostile.name, pk) for pk in new]
    return added


def model_save(probe: Probe, corpus) -> None:
    """A site's own code saving a Wagtail image (AUTO_PROCESS presets), no form in between."""
    from django.core.files.images import ImageFile
    from django.db import transaction
    from wagtail.images import get_image_model

    model = get_image_model()
    for hostile in corpus:

        def save(h=hostile) -> tuple[int, None]:
            try:
                with transaction.atomic():
                    image = model(
                        title=f"probe {h.name}", file=ImageFile(io.BytesIO(h.make()), "probe.png")
                    )
                    image.save()
            except Exception as exc:  # Wagtail cannot read the file's size: the site's code sees it
                return 400, f"{type(exc).__name__}: {exc}"[:200]
            return 200, ""

        probe.request("save (AUTO_PROCESS)", hostile.name, "image.save()", save)


def ai_cut(probe: Probe, images, client) -> None:
    """AI Cut on every image the admin accepted: the page, then one green dot in the middle."""
    from django.urls import reverse
    from wagtail.images import get_image_model

    for name, pk in images:
        image = get_image_model().objects.get(pk=pk)
        probe.request(
            "ai-cut", name, "page", lambda: client.get(reverse("wagtail_bgcut:aicut", args=[pk]))
        )
        dots = {"green": [[image.width // 2, image.height // 2]], "request_number": 1}
        probe.request(
            "ai-cut",
            name,
            "segment",
            lambda: client.post(
                reverse("wagtail_bgcut:aicut_segment", args=[pk]),
                json.dumps(dots),
                content_type="application/json",
            ),
        )


@contextlib.contextmanager
def emulator() -> Iterator[dict[str, Any]]:
    """The bundled API emulator in its own process, so its work is not counted as the site's."""
    from wagtail_bgcut.testing.pytest_plugin import API_KEY

    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "wagtail_bgcut.testing.server"),
            *("--port", "0", "--rate-limit", "0", "--api-key", API_KEY),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = {}
        while "TOKEN_API_BASE" not in lines:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError("the emulator did not start")
            if "=" in line:
                key, value = line.strip().split("=", 1)
                lines[key] = value
        yield {
            "BACKEND": "backgroundcut",
            "API_KEY": API_KEY,
            "API_BASE": lines["API_BASE"],
            "TOKEN_API_BASE": lines["TOKEN_API_BASE"],
            "RATE_LIMIT": None,
            "DOWNLOAD_LOCAL_RESULT_HOSTS": True,
        }
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--doors", default="public-local")
    parser.add_argument("--corpus", required=True, help="a folder written by hostile_files.dump")
    parser.add_argument(
        "--at-limit",
        action="store_true",
        help="add a genuine photo-like JPEG at the public door's pixel limit (the costliest "
        "upload it accepts)",
    )
    args = parser.parse_args()
    doors = args.doors.split(",")
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client, override_settings
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client records templates; and ALLOWED_HOSTS "testserver"
    call_command("migrate", interactive=False, verbosity=0)
    # The corpus comes as files: tests.hostile_files needs the test settings' apps to import.
    CORPUS = [Stored(os.path.join(args.corpus, n)) for n in sorted(os.listdir(args.corpus))]
    if args.at_limit:
        CORPUS.append(at_limit(args.corpus))
    probe = Probe()
    admin = get_user_model().objects.create_superuser("probe", "probe@example.com", "x")
    # The editors' doors first: the public doors' handler puts every upload in the library, and
    # after that Wagtail's add-image view added none of the same files (seen with Wagtail 8.0).
    images: list = []
    editor = Client()
    editor.force_login(admin)
    if "admin" in doors or "ai-cut" in doors:
        images = admin_upload(probe, CORPUS, editor)
    if "save" in doors:
        model_save(probe, CORPUS)
    if "ai-cut" in doors:
        ai_cut(probe, images, editor)
    if "public-local" in doors:
        public_upload(probe, "public upload (local)", CORPUS, Client(), api=False)
    if "public-api" in doors:
        with (
            emulator() as keys,
            override_settings(WAGTAIL_BGCUT={**settings.WAGTAIL_BGCUT, **keys}),
        ):
            signed_in = Client()
            signed_in.force_login(admin)  # the demo lets only signed-in users spend credits
            public_upload(probe, "public upload (API)", CORPUS, signed_in, api=True)
    print("BGCUT-DOORS" + json.dumps({"rows": probe.rows}))


if __name__ == "__main__":
    main()
