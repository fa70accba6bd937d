"""The emulator answers browsers like the real Processing API must: CORS on /v3/, not on tokens."""

from __future__ import annotations

import requests


def test_preflight_and_responses_of_the_processing_api_allow_browsers(bgcut_server):
    url = bgcut_server.api_base + "/v3/remove-bg/"
    pre = requests.options(
        url,
        headers={"Origin": "http://localhost:8000", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    answer = requests.post(url, data={"token": "nope"}, timeout=10)
    assert answer.status_code == 401
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    # Preflights are not API traffic: only the POST was logged.
    assert [r.method for r in bgcut_server.requests] == ["POST"]


def test_the_token_api_is_not_opened_to_browsers(bgcut_server):
    url = bgcut_server.token_api_base + "/v3/remove-bg/token/"
    answer = requests.post(url, json={"output_variants": [{"variant_name": "full"}]}, timeout=10)
    assert answer.status_code == 401
    assert "Access-Control-Allow-Origin" not in answer.headers
    pre = requests.options(url, timeout=10)
    assert "Access-Control-Allow-Origin" not in pre.headers
