"""The pytest plugin users get: ``bgcut_server``, the marker, the factory, Django settings.

What only shows across tests (the shared emulator is reset between them) or at pytest start-up
(the plugin loads in every project that installs the package) is checked in a user's suite run by
a separate pytest, so every test here passes alone and in any order.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings

from wagtail_bgcut.conf import bgcut_settings
from wagtail_bgcut.testing.pytest_plugin import _django_settings

# Set before anything is imported, so any import of werkzeug fails as if it were not installed.
WITHOUT_WERKZEUG = "import sys; sys.modules['werkzeug'] = None\n"


def run_user_suite(
    folder: Path, source: str, *, prelude: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run ``source`` as a user's test file with a separate pytest (plugins from entry points,
    ours included; pytest-django off; tests in file order), after the Python ``prelude``."""
    (folder / "test_user_suite.py").write_text(textwrap.dedent(source))
    options = ["-q", "-p", "no:django", "-p", "no:cacheprovider", "-p", "no:randomly"]
    code = f"{prelude}import sys, pytest\nsys.exit(pytest.main(sys.argv[1:]))\n"
    return subprocess.run(
        [sys.executable, "-c", code, *options, "--strict-markers", str(folder)],
        cwd=folder,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_fixture_points_the_package_settings_at_the_emulator(bgcut_server):
    assert bgcut_server.api_base == bgcut_settings.API_BASE
    assert bgcut_server.token_api_base == bgcut_settings.TOKEN_API_BASE
    assert bgcut_server.api_key == bgcut_settings.API_KEY
    assert bgcut_settings.backend_path().endswith("BackgroundCutBackend")
    # The suite's own keys survive the merge.
    assert set(bgcut_settings.PRESETS) == {"full", "thumbnail"}


def test_settings_are_restored_afterwards(bgcut_server_factory):
    server = bgcut_server_factory()  # the factory alone leaves settings alone
    before = settings.WAGTAIL_BGCUT
    assert "API_BASE" not in before
    with _django_settings(server):
        assert settings.WAGTAIL_BGCUT["API_BASE"] == server.api_base
    assert settings.WAGTAIL_BGCUT is before
    assert "API_BASE" not in settings.WAGTAIL_BGCUT


def test_each_test_gets_the_shared_emulator_back_clean(tmp_path):
    completed = run_user_suite(
        tmp_path,
        """
        import requests

        PORTS = []

        def ai_cut_token(server):
            return requests.post(
                server.token_api_base + "/v3/ai-cut/token/",
                headers={"Authorization": "Bearer " + server.api_key},
                timeout=10,
            )

        def test_leaves_a_mess(bgcut_server):
            PORTS.append(bgcut_server.port)
            assert ai_cut_token(bgcut_server).status_code == 200  # 2 credits, a ledger line
            bgcut_server.set_credits(1)
            bgcut_server.inject(503, times=None)
            assert ai_cut_token(bgcut_server).status_code == 503

        def test_finds_it_clean(bgcut_server):
            assert bgcut_server.port == PORTS[0]  # the same emulator, not a new one
            assert bgcut_server.credits == 1_000_000
            assert bgcut_server.ledger == [] and bgcut_server.requests == []
            assert ai_cut_token(bgcut_server).status_code == 200  # the fault is gone
        """,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "2 passed" in completed.stdout


@pytest.mark.bgcut_server(credits=2, api_key="other-key")
def test_marker_gives_a_fresh_server_with_arguments(bgcut_server):
    assert bgcut_server.credits == 2 and bgcut_server.api_key == "other-key"
    assert bgcut_settings.API_KEY == "other-key"


def test_factory_starts_more_servers(bgcut_server, bgcut_server_factory):
    other = bgcut_server_factory(credits=7, rate_limit=5)
    assert other.port != bgcut_server.port and other.credits == 7
    assert bgcut_server.api_base == bgcut_settings.API_BASE  # settings stay on the fixture's


def test_plugin_works_in_a_suite_without_django(tmp_path):
    completed = run_user_suite(
        tmp_path,
        """
        import pytest, requests

        def test_uses_the_emulator(bgcut_server):
            r = requests.post(
                bgcut_server.token_api_base + "/v3/ai-cut/token/",
                headers={"Authorization": "Bearer " + bgcut_server.api_key},
                timeout=10,
            )
            assert r.status_code == 200
            assert bgcut_server.ledger[0].credits == 2

        @pytest.mark.bgcut_server(credits=0)
        def test_marker(bgcut_server):
            assert bgcut_server.credits == 0
        """,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "2 passed" in completed.stdout


def test_plugin_imports_without_werkzeug():
    """pytest imports the plugin in every project with the package, testing extra or not."""
    completed = subprocess.run(
        [sys.executable, "-c", WITHOUT_WERKZEUG + "import wagtail_bgcut.testing.pytest_plugin"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr


def test_without_werkzeug_only_the_fixture_fails_and_says_what_to_install(tmp_path):
    completed = run_user_suite(
        tmp_path,
        """
        def test_unrelated():
            assert True

        def test_uses_the_emulator(bgcut_server):
            pass
        """,
        prelude=WITHOUT_WERKZEUG,
    )
    assert "1 passed, 1 error" in completed.stdout, completed.stdout + completed.stderr
    assert 'pip install "wagtail-bgcut[testing]"' in completed.stdout
