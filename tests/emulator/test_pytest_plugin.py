"""The pytest plugin users get: ``bgcut_server``, the marker, the factory, Django settings."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import requests
from django.conf import settings

from wagtail_bgcut.conf import bgcut_settings
from wagtail_bgcut.testing.pytest_plugin import _django_settings


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


def test_each_test_starts_clean_part_one(bgcut_server):
    bgcut_server.set_credits(1)
    bgcut_server.inject(503, times=None)


def test_each_test_starts_clean_part_two(bgcut_server):
    assert bgcut_server.credits == 1_000_000
    response = requests.post(
        f"{bgcut_server.token_api_base}/v3/ai-cut/token/",
        headers={"Authorization": f"Bearer {bgcut_server.api_key}"},
        timeout=10,
    )
    assert response.status_code == 200


@pytest.mark.bgcut_server(credits=2, api_key="other-key")
def test_marker_gives_a_fresh_server_with_arguments(bgcut_server):
    assert bgcut_server.credits == 2 and bgcut_server.api_key == "other-key"
    assert bgcut_settings.API_KEY == "other-key"


def test_factory_starts_more_servers(bgcut_server, bgcut_server_factory):
    other = bgcut_server_factory(credits=7, rate_limit=5)
    assert other.port != bgcut_server.port and other.credits == 7


def test_plugin_works_in_a_suite_without_django(tmp_path):
    (tmp_path / "test_user_suite.py").write_text(
        textwrap.dedent(
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
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:django",
            "-p",
            "no:cacheprovider",
            "--strict-markers",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "2 passed" in completed.stdout
