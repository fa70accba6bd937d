"""Misconfiguration is reported by `manage.py check` with documented ids, before any request."""

import pytest
from django.core import checks
from django.test import override_settings

from wagtail_bgcut.conf import bgcut_settings


def run_checks():
    return {m.id for m in checks.run_checks() if m.id and m.id.startswith("wagtail_bgcut.")}


def bgcut(**options):
    from django.conf import settings

    return override_settings(WAGTAIL_BGCUT={**settings.WAGTAIL_BGCUT, **options})


def test_the_test_settings_are_clean():
    assert run_checks() == set()


def test_unknown_backend_path_is_e001():
    with bgcut(BACKEND="myproject.backends.Missing"):
        assert "wagtail_bgcut.E001" in run_checks()


def test_remote_backend_without_key_is_e002(monkeypatch):
    monkeypatch.delenv("BGCUT_API_KEY", raising=False)
    with bgcut(BACKEND="backgroundcut", API_KEY=None):
        messages = [m for m in checks.run_checks() if m.id == "wagtail_bgcut.E002"]
    assert messages and "BGCUT_API_KEY" in messages[0].hint


def test_api_key_in_environment_selects_the_remote_backend(monkeypatch):
    monkeypatch.setenv("BGCUT_API_KEY", "from-env")
    assert bgcut_settings.API_KEY == "from-env"
    assert bgcut_settings.backend_path().endswith("BackgroundCutBackend")
    monkeypatch.delenv("BGCUT_API_KEY")
    assert bgcut_settings.backend_path().endswith("LocalBackend")


@pytest.mark.parametrize(
    "presets",
    [
        {"thumb": {"max_resolution": 10}},
        {"thumb": {"format": "gif"}},
        {"thumb": {"backgroud_color": "#ffffff"}},
        ["thumb"],
    ],
)
def test_invalid_presets_are_e003(presets):
    with bgcut(PRESETS=presets, AUTO_PROCESS=[]):
        assert "wagtail_bgcut.E003" in run_checks()


def test_invalid_preset_message_names_the_field():
    with bgcut(PRESETS={"thumb": {"max_resolution": 10}}):
        errors = [m for m in checks.run_checks() if m.id == "wagtail_bgcut.E003"]
    assert "thumb" in errors[0].msg and "max_resolution" in errors[0].msg


@pytest.mark.parametrize("auto", [["nope"], "full"])
def test_auto_process_must_name_known_presets_e004(auto):
    with bgcut(AUTO_PROCESS=auto):
        assert "wagtail_bgcut.E004" in run_checks()


def test_unknown_storage_alias_is_e005():
    with bgcut(STORAGE="missing"):
        assert "wagtail_bgcut.E005" in run_checks()


@pytest.mark.parametrize("url", ["ftp://api.example.com", "not a url", ""])
def test_bad_api_base_is_e006(url):
    with bgcut(API_BASE=url):
        assert "wagtail_bgcut.E006" in run_checks()


def test_plain_http_to_a_remote_host_warns_w001():
    with bgcut(API_BASE="http://api.backgroundcut.co"):
        assert "wagtail_bgcut.W001" in run_checks()
    with bgcut(API_BASE="http://127.0.0.1:8765"):
        assert "wagtail_bgcut.W001" not in run_checks()


def test_missing_local_model_file_is_e007(tmp_path):
    with bgcut(LOCAL_MODEL=str(tmp_path / "missing.onnx")):
        assert "wagtail_bgcut.E007" in run_checks()


# -- money: result hosts and the credit budget (E030-E032, W030) ---------------------------------


@pytest.mark.parametrize("value", [-1, "100", True])
def test_a_budget_cap_that_is_not_credits_is_e030(value):
    with bgcut(BUDGET_MONTHLY_CREDITS=value):
        assert "wagtail_bgcut.E030" in run_checks()
    with bgcut(BUDGET_USER_MONTHLY_CREDITS=value):
        assert "wagtail_bgcut.E030" in run_checks()


@pytest.mark.parametrize(
    "options",
    [
        {"DOWNLOAD_DENY": "evil.example"},  # a string, not a list
        {"DOWNLOAD_ALLOW": ["cdn.*.example.com"]},  # only a leading wildcard
        {"DOWNLOAD_DENY": ["ftp://files.example.com"]},
    ],
)
def test_bad_download_patterns_are_e031(options):
    with bgcut(**options):
        assert "wagtail_bgcut.E031" in run_checks()


def test_good_money_settings_pass():
    with bgcut(
        BUDGET_MONTHLY_CREDITS=500,
        BUDGET_USER_MONTHLY_CREDITS=20.5,
        DOWNLOAD_ALLOW=["*.cloudfront.net", "https://files.example.org:8443"],
        DOWNLOAD_DENY=["internal.example.org"],
        RESULT_URL_SECONDS=120,
    ):
        assert run_checks() == set()


def test_a_negative_result_url_lifetime_is_e032():
    with bgcut(RESULT_URL_SECONDS=-5):
        assert "wagtail_bgcut.E032" in run_checks()


def test_local_result_hosts_against_a_real_api_is_w030(settings):
    settings.DEBUG = False
    with bgcut(DOWNLOAD_LOCAL_RESULT_HOSTS=True, API_BASE="https://api.backgroundcut.co"):
        assert "wagtail_bgcut.W030" in run_checks()
    with bgcut(DOWNLOAD_LOCAL_RESULT_HOSTS=True, API_BASE="http://127.0.0.1:8765"):
        assert "wagtail_bgcut.W030" not in run_checks()


def test_a_preset_naming_its_variant_otherwise_is_e003_at_start_up():
    # Else the token would ask for "small", output_urls would answer "small", and finalize would
    # look for "thumb" after the charge.
    with bgcut(PRESETS={"thumb": {"variant_name": "small", "format": "webp"}}, AUTO_PROCESS=[]):
        assert "wagtail_bgcut.E003" in run_checks()


# -- Workers and recovery --


def test_w020_warns_when_workers_count_the_rate_limit_per_process(settings):
    from wagtail_bgcut.checks import check_shared_rate_limit

    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "TASK_BACKEND": "db"}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert [m.id for m in check_shared_rate_limit()] == ["wagtail_bgcut.W020"]
    # A shared cache, or work done in the web process itself: nothing to say.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/11",
        }
    }
    assert check_shared_rate_limit() == []
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "TASK_BACKEND": "default"}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert check_shared_rate_limit() == []
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "RATE_LIMIT_CACHE": "nope"}
    assert [m.id for m in check_shared_rate_limit()] == ["wagtail_bgcut.E020"]


def test_presets_with_editor_labels_and_help_pass_the_preset_check():
    # "label" and "help" are for editors, never sent to the API: the check must not refuse them,
    # or every site on the default presets (which carry labels) would fail to start.
    with bgcut(
        PRESETS={"hero": {"format": "png", "label": "Hero", "help": "Big"}}, AUTO_PROCESS=[]
    ):
        assert "wagtail_bgcut.E003" not in run_checks()
    with override_settings(WAGTAIL_BGCUT={}):
        assert "wagtail_bgcut.E003" not in run_checks()
