"""The demo's first page view makes no cut-out: they are made when the demo loads its images.

(Measured before the fix: the first view of the home page waited about 6 s for the ``white``
cut-outs; see the editors' report.) Runs the example project in a subprocess, like
``test_example_project``.
"""

from __future__ import annotations

import json

from .test_example_project import _run

FIRST_VIEW = """
import json
from django.core.management import call_command
from django.test import Client
from wagtail_bgcut.models import Cutout

call_command("migrate", interactive=False, verbosity=0)
call_command("demo_setup", verbosity=0)
def rows():
    return sorted(Cutout.objects.values_list("pk", "status", "processed_at"))
before = rows()
response = Client().get("/")
after = rows()
print("BGCUT-RESULT" + json.dumps({
    "status": response.status_code,
    "unchanged": before == after,
    "not_done_before": sum(1 for _pk, status, _at in before if status != "done"),
    "count": len(before),
}))
"""


def test_the_first_view_of_the_demo_makes_no_cutout(tmp_path):
    done = _run(["-c", "import django; django.setup()\n" + FIRST_VIEW], tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.split("BGCUT-RESULT", 1)[1])
    assert result["status"] == 200
    assert result["count"] == 8  # 4 products x (thumbnail, white), all made by demo_setup
    assert result["not_done_before"] == 0
    assert result["unchanged"]  # the render neither created nor (re)made a cut-out
