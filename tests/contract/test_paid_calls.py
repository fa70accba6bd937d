"""Never pay twice: the client and the API backend against the emulator in its faithful mode.

Faithful mode follows the pages where they speak: remove-bg is charged when its token is issued
(01), result files live on a separate result host (another loopback address and port) and AI Cut
sessions expire (04). The ``lost`` faults do the work for real, charge included, and then lose the
answer, which is what a gateway timeout or a reset after sending looks like to us.

Every assertion reads the emulator's ledger (what was charged) and request log (what was sent).
"""

from __future__ import annotations

import logging
import pickle
from urllib.parse import urlsplit

import pytest
from django.test import override_settings

from wagtail_bgcut import budget
from wagtail_bgcut.backends.backgroundcut import BackgroundCutBackend, OutputsNotDownloaded
from wagtail_bgcut.client import (
    BackgroundCutClient,
    DownloadError,
    ProcessingTimeout,
    TransportError,
)
from wagtail_bgcut.models import CreditSpend
from wagtail_bgcut.presets import get_preset
from wagtail_bgcut.signals import budget_cap_reached
from wagtail_bgcut.testing.pytest_plugin import settings_for

FAITHFUL = pytest.mark.bgcut_server(faithful=True)
PROCESS = "/v3/remove-bg/process-image/"
VARIANTS = [{"variant_name": "full"}, {"variant_name": "thumb", "format": "webp"}]


def client_for(server, **options) -> BackgroundCutClient:
    settings = {
        "api_base": server.api_base,
        "token_api_base": server.token_api_base,
        "rate_limit": None,
        "max_retries": 3,
        "backoff_base": 0.01,
        "backoff_cap": 0.05,
        "local_result_hosts": True,  # the emulator's result host is http on loopback
        "timeout": (5.0, 60.0),
    }
    settings.update(options)
    return BackgroundCutClient(server.api_key, **settings)


def sent(server, endpoint: str) -> int:
    return sum(1 for r in server.requests if r.endpoint == endpoint)


# -- result hosts --------------------------------------------------------------------------------


@FAITHFUL
def test_result_urls_on_a_non_api_host_are_downloaded(bgcut_server, png):
    with client_for(bgcut_server) as client:
        uf = client.upload_image(png).unique_filename
        result = client.process_image(uf, VARIANTS)
        url = urlsplit(result.output_urls["full"])
        api = urlsplit(bgcut_server.api_base)
        assert (url.hostname, url.port) != (api.hostname, api.port)  # another host
        with client.download(result.output_urls["thumb"], expected_format="webp") as dl:
            assert dl.format == "webp" and dl.width > 0
    # The API host itself serves no result files in faithful mode: host handling is exercised.
    assert sent(bgcut_server, "process_image") == 1


@FAITHFUL
def test_api_named_result_hosts_must_be_https_and_public_against_a_real_api(bgcut_server, png):
    with client_for(bgcut_server, local_result_hosts=False) as client:
        uf = client.upload_image(png).unique_filename
        result = client.process_image(uf, VARIANTS)
        with pytest.raises(DownloadError, match="https only"):
            client.download(result.output_urls["full"])
    assert not any(r.path.startswith("/results/") for r in bgcut_server.requests)


@FAITHFUL
def test_a_url_no_api_answer_named_is_refused_whatever_listens_there(bgcut_server, png):
    """A browser-sent URL on the result host's address but another port reveals nothing."""
    with client_for(bgcut_server) as client:
        uf = client.upload_image(png).unique_filename
        result = client.process_image(uf, VARIANTS)
        host = urlsplit(result.output_urls["full"]).hostname
        messages = set()
        for port in (bgcut_server.port, 1):  # one port answers, the other is closed
            with pytest.raises(DownloadError) as info:
                client.download(f"http://{host}:{port}/results/x.png")
            messages.add(str(info.value))
    assert len(messages) == 1  # open and closed ports look the same


# -- a download failure costs no second process call --------------------------------------------


@FAITHFUL
def test_a_download_failure_costs_no_second_process_call(bgcut_server, png):
    with client_for(bgcut_server, max_retries=0) as client:
        uf = client.upload_image(png).unique_filename
        result = client.process_image(uf, VARIANTS)
        bgcut_server.inject(status=503, times=None, path="/results/")
        with pytest.raises(DownloadError):
            client.download(result.output_urls["full"])
    bgcut_server.clear_faults()
    # Later, another process with only the stored URL: downloaded, not processed again.
    with (
        client_for(bgcut_server) as other,
        other.download(result.output_urls["full"], named_by_api=True) as dl,
    ):
        assert dl.format == "png"
    assert sent(bgcut_server, "process_image") == 1
    assert [c.endpoint for c in bgcut_server.ledger] == ["process_image"]


@FAITHFUL
@pytest.mark.django_db
def test_the_backend_hands_back_what_was_paid_for_when_a_download_fails(bgcut_server, png):
    variants = [get_preset("full"), get_preset("thumbnail")]
    backend = BackgroundCutBackend()
    bgcut_server.inject(status=503, times=None, path="/results/")
    with override_settings(WAGTAIL_BGCUT={**settings_for(bgcut_server), "MAX_RETRIES": 0}):
        with pytest.raises(OutputsNotDownloaded) as info:
            backend.process(png, variants)
        paid = info.value.paid
        assert info.value.may_have_been_charged is True  # nothing retries it by processing
        assert set(paid.urls) == {"full", "thumbnail"} and paid.expires_at is not None
        bgcut_server.clear_faults()
        outputs = BackgroundCutBackend().download_outputs(
            paid.urls, variants, expires_at=paid.expires_at
        )
    assert outputs["full"].format == "png" and outputs["thumbnail"].format == "webp"
    assert sent(bgcut_server, "process_image") == 1
    assert len(bgcut_server.ledger) == 1


# -- a 504 after the charge costs no second charge without an explicit retry ---------------------


@FAITHFUL
@pytest.mark.parametrize("lost", ["504", "reset"])
def test_a_lost_answer_after_the_charge_is_never_retried_blindly(bgcut_server, png, lost):
    with client_for(bgcut_server, max_retries=4) as client:
        uf = client.upload_image(png).unique_filename
        bgcut_server.inject(lost=lost, path=PROCESS)
        with pytest.raises((ProcessingTimeout, TransportError)) as info:
            client.process_image(uf, VARIANTS)
        assert info.value.may_have_been_charged is True
        assert pickle.loads(pickle.dumps(info.value)).may_have_been_charged is True
        assert sent(bgcut_server, "process_image") == 1
        assert len(bgcut_server.ledger) == 1  # charged once, and only once
        # An explicit retry is the caller's decision, and it pays again: that is why it is theirs.
        client.process_image(uf, VARIANTS)
    assert len(bgcut_server.ledger) == 2


@FAITHFUL
def test_a_lost_token_answer_is_charged_at_issue_and_not_retried(bgcut_server):
    with client_for(bgcut_server, max_retries=4) as client:
        bgcut_server.inject(lost="504", path="/api/v3/remove-bg/token/")
        with pytest.raises(ProcessingTimeout) as info:
            client.create_remove_bg_token(VARIANTS)
    assert info.value.may_have_been_charged is True
    assert sent(bgcut_server, "remove_bg_token") == 1
    assert [c.endpoint for c in bgcut_server.ledger] == ["remove_bg_token"]  # 01: charged here


@FAITHFUL
def test_a_lost_ai_cut_initialize_answer_is_not_retried(bgcut_server, png):
    with client_for(bgcut_server, max_retries=4) as client:
        bgcut_server.inject(lost="reset", path="/v3/ai-cut/initialize/")
        with pytest.raises(TransportError) as info:
            client.ai_cut_initialize(png)
    assert info.value.may_have_been_charged is True
    assert sent(bgcut_server, "ai_cut_initialize") == 1
    assert [c.endpoint for c in bgcut_server.ledger] == ["ai_cut_initialize"]


@FAITHFUL
def test_the_token_flow_is_charged_once_at_the_token_and_not_at_processing(bgcut_server, png):
    with client_for(bgcut_server) as client:
        token = client.create_remove_bg_token(VARIANTS)
        result = client.remove_bg_with_token(token, png)
        with client.download(result.output_urls["full"]) as dl:
            assert dl.format == "png"
    assert [c.endpoint for c in bgcut_server.ledger] == ["remove_bg_token"]


# -- the budget guard refuses before any spend ---------------------------------------------------


@FAITHFUL
@pytest.mark.django_db
def test_a_cap_refuses_before_any_spend(bgcut_server, png):
    heard = []

    def receiver(**kwargs):
        heard.append(kwargs)

    budget_cap_reached.connect(receiver)
    try:
        settings = {**settings_for(bgcut_server), "BUDGET_MONTHLY_CREDITS": 3}
        with override_settings(WAGTAIL_BGCUT=settings):
            backend = BackgroundCutBackend()
            backend.process(png, [get_preset("full")])  # 1 credit: within the cap
            with pytest.raises(budget.BudgetExceeded, match="monthly BackgroundCut budget"):
                backend.process(png, [get_preset("full"), get_preset("thumbnail")])  # 2.5 more
    finally:
        budget_cap_reached.disconnect(receiver)
    # The refused call sent nothing at all, not even the free upload.
    assert sent(bgcut_server, "process_image") == 1
    assert sent(bgcut_server, "upload_image") == 1
    assert len(bgcut_server.ledger) == 1
    assert [(h["cap"], h["limit"], h["spent"], h["needed"]) for h in heard] == [
        ("monthly", 3.0, 1.0, 2.5)
    ]


@FAITHFUL
@pytest.mark.django_db
def test_a_call_that_certainly_cost_nothing_gives_its_reservation_back(bgcut_server, png):
    settings = {**settings_for(bgcut_server), "MAX_RETRIES": 0, "BUDGET_MONTHLY_CREDITS": 50}
    with override_settings(WAGTAIL_BGCUT=settings):
        bgcut_server.inject(status=503, times=None, path=PROCESS)
        with pytest.raises(Exception, match="busy"):
            BackgroundCutBackend().process(png, [get_preset("full")])
        assert CreditSpend.objects.count() == 0  # a 503 is turned away before any work
        bgcut_server.clear_faults()
        bgcut_server.inject(lost="504", path=PROCESS)
        with pytest.raises(ProcessingTimeout):
            BackgroundCutBackend().process(png, [get_preset("full")])
    spend = CreditSpend.objects.get()
    assert spend.uncertain is True and spend.credits == 1.0  # counted: it may have been charged
    with override_settings(WAGTAIL_BGCUT=settings):
        assert budget.status().uncertain == 1.0
        assert budget.status().remaining == 49.0


# -- the key never appears in any answer, log or error -------------------------------------------


@FAITHFUL
def test_the_key_never_appears_in_an_error_or_a_log_line(bgcut_server, png, caplog):
    caplog.set_level(logging.DEBUG)
    key = bgcut_server.api_key
    seen: list[str] = []
    with client_for(bgcut_server, max_retries=1) as client:
        seen.append(repr(client))
        uf = client.upload_image(png).unique_filename
        for fault in ({"lost": "504"}, {"lost": "reset"}, {"status": 503}, {"truncate": True}):
            bgcut_server.inject(path=PROCESS, times=None, **fault)
            with pytest.raises(Exception) as info:
                client.process_image(uf, VARIANTS)
            bgcut_server.clear_faults()
            error = info.value
            seen += [str(error), repr(error), str(error.__dict__), str(pickle.dumps(error))]
            assert error.__cause__ is None and error.__context__ is None
        bgcut_server.inject(status=401, detail=f"bad key {key}", path=PROCESS)
        with pytest.raises(Exception) as info:  # a provider that echoes the key back
            client.process_image(uf, VARIANTS)
        seen += [str(info.value), repr(info.value)]
    seen += [r.getMessage() for r in caplog.records]
    assert seen and not [text for text in seen if key in text]


@FAITHFUL
@pytest.mark.django_db
def test_stored_urls_past_their_expiry_are_not_fetched_and_say_why(bgcut_server, png):
    from datetime import timedelta

    from django.utils import timezone

    from wagtail_bgcut.backends.backgroundcut import OutputsExpired

    variants = [get_preset("full")]
    with override_settings(WAGTAIL_BGCUT=settings_for(bgcut_server)):
        paid = BackgroundCutBackend().request_outputs(png, variants)
        assert not [r for r in bgcut_server.requests if r.path.startswith("/results/")]
        past = timezone.now() - timedelta(seconds=1)
        with pytest.raises(OutputsExpired, match="charged again"):
            BackgroundCutBackend().download_outputs(paid.urls, variants, expires_at=past)
    assert not [r for r in bgcut_server.requests if r.path.startswith("/results/")]
    assert len(bgcut_server.ledger) == 1
