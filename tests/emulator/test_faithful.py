"""The emulator's faithful mode: what the pages say, where the default mode is convenient instead.

Raw ``requests`` calls, spelled as the provider's examples (the ``Api`` helper), so these tests
check the emulator itself, not the package's client.
"""

from __future__ import annotations

import pytest
import requests

from .conftest import Api

FAITHFUL = pytest.mark.bgcut_server(faithful=True, session_ttl=60)


@pytest.fixture
def faithful_api(bgcut_server) -> Api:
    return Api(bgcut_server)


@FAITHFUL
def test_remove_bg_is_charged_when_the_token_is_issued(faithful_api, png):
    token = faithful_api.token(body={"output_variants": [{"variant_name": "a"}]})
    assert token.status_code == 200
    # 01: "Token API ... Credits are deducted here." Even if nothing is ever uploaded.
    assert [c.endpoint for c in faithful_api.server.ledger] == ["remove_bg_token"]
    processed = requests.post(
        f"{faithful_api.base}/v3/remove-bg/",
        files={"token": (None, token.json()["access_token"]), "image": ("p.png", png)},
        timeout=60,
    )
    assert processed.status_code == 200
    assert [c.endpoint for c in faithful_api.server.ledger] == ["remove_bg_token"]


def test_the_default_mode_charges_at_processing(api, png):
    api.token(body={"output_variants": [{"variant_name": "a"}]})
    assert api.server.ledger == []


@FAITHFUL
def test_results_come_from_a_separate_host_that_serves_nothing_else(faithful_api, png):
    uf = faithful_api.upload(png).json()["unique_filename"]
    url = faithful_api.process(uf, [{"variant_name": "a"}]).json()["output_urls"]["a"]
    server = faithful_api.server
    assert url.startswith(server.result_base + "/results/")
    assert server.result_base != server.api_base
    assert requests.get(url, timeout=30).status_code == 200
    name = url.rsplit("/", 1)[1]
    assert requests.get(f"{server.api_base}/results/{name}", timeout=30).status_code == 404
    on_result_host = requests.post(
        f"{server.result_base}/v3/remove-bg/upload-image/", files={"image": png}, timeout=30
    )
    assert on_result_host.status_code == 404


@FAITHFUL
def test_ai_cut_sessions_expire_and_record_every_request_number(faithful_api, png):
    uf = faithful_api.initialize(png).json()["unique_filename"]
    assert faithful_api.segment(uf, [(32, 24)], number=1).status_code == 200
    assert faithful_api.segment(uf, [(32, 24)], [(1, 1)], number=2).status_code == 200
    assert faithful_api.server.state.sessions[uf].numbers == [1, 2]
    faithful_api.server.advance(61)  # past session_ttl; uploads would still live an hour
    gone = faithful_api.segment(uf, [(32, 24)], number=3)
    assert gone.status_code == 404
    assert gone.json()["detail"] == "Session not found or has expired."


@pytest.mark.parametrize("lost", ["504", "reset"])
def test_a_lost_answer_is_charged_and_then_lost(api, png, lost):
    uf = api.upload(png).json()["unique_filename"]
    api.server.inject(lost=lost, path="/v3/remove-bg/process-image/")
    if lost == "504":
        assert api.process(uf, [{"variant_name": "a"}]).status_code == 504
    else:
        with pytest.raises(requests.ConnectionError):
            api.process(uf, [{"variant_name": "a"}])
    assert [c.endpoint for c in api.server.ledger] == ["process_image"]
    assert [r.fault for r in api.server.requests][-1] == f"lost {lost}"


def test_a_lost_fault_kind_must_be_known(api):
    with pytest.raises(ValueError, match="lost"):
        api.server.inject(lost="sometimes")


@pytest.mark.parametrize(
    ("variant", "status"),
    [
        ({"variant_name": "a", "format": "JPEG"}, 200),  # INVENTED leniency: 02 lists JPEG
        ({"variant_name": "a", "format": "gif"}, 422),
        ({"variant_name": "a", "max_resolution": 249_999}, 422),
        ({"variant_name": "a", "background_color": "#1A01FF"}, 200),  # 01's own example
        ({"variant_name": "a", "output_compression": 0}, 422),
        ({"variant_name": "a", "autocrop": "yes"}, 422),
    ],
)
def test_the_emulator_reads_the_variant_rules_itself(api, png, variant, status):
    uf = api.upload(png).json()["unique_filename"]
    assert api.process(uf, [variant]).status_code == status


def test_uploads_over_12_000_000_bytes_are_refused(api, png):
    # "Max 12MB", read as 12,000,000 bytes (the strict reading).
    response = api.upload(png + b"\0" * (12_000_001 - len(png)))
    assert response.status_code == 413
    assert api.upload(png + b"\0" * (12_000_000 - len(png))).status_code != 413
