"""``make demo``'s public upload page works with the local engine (no key, no network).

Run in a subprocess with the example project's own settings, as tests/core/test_example_project.py
does: an anonymous visitor opens /upload/, gets a local token, uploads, finalizes, and the page
then lists the upload with its cut-out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.factories import ImageBytesFactory

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "example_project"

SCRIPT = """
import json, os
from django.core.management import call_command
from django.test import Client

call_command("migrate", interactive=False, verbosity=0)
buf = open(os.environ["EXAMPLE_PHOTO"], "rb")
out = {}
c = Client()
page = c.get("/upload/")
out["page"] = page.status_code
out["widget"] = 'data-token-url="/upload/bgcut/token/"' in page.content.decode()
grant = c.post("/upload/bgcut/token/", json.dumps({"presets": ["full", "thumbnail"]}),
               content_type="application/json").json()
out["mode"] = grant["mode"]
result = c.post("/upload/bgcut/process/", {"token": grant["token"], "image": buf}).json()
out["status"] = result["status"]
done = c.post(grant["finalize_url"], json.dumps({
    "ticket": grant["ticket"], "token": grant["token"],
    "unique_filename": result["unique_filename"], "output_urls": result["output_urls"]}),
    content_type="application/json")
out["finalize"] = done.status_code
thumb = done.json()["cutouts"]["thumbnail"]["url"]
out["listed"] = thumb in c.get("/upload/").content.decode()
print("BGCUT-RESULT" + json.dumps(out))
"""


def test_the_demo_upload_page_removes_backgrounds_for_visitors(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BGCUT_", "DJANGO_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(PROJECT)])
    env["DJANGO_SETTINGS_MODULE"] = "example_project.settings"
    env["EXAMPLE_DB"] = str(tmp_path / "db.sqlite3")
    env["EXAMPLE_MEDIA_ROOT"] = str(tmp_path / "media")
    env["EXAMPLE_PHOTO"] = str(tmp_path / "ball.png")
    (tmp_path / "ball.png").write_bytes(
        ImageBytesFactory(ball=True, width=120, height=90, background=(230, 230, 230))
    )
    proc = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + SCRIPT],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("BGCUT-RESULT"))
    out = json.loads(line[len("BGCUT-RESULT") :])
    assert out == {
        "page": 200,
        "widget": True,
        "mode": "local",
        "status": "success",
        "finalize": 200,
        "listed": True,
    }
