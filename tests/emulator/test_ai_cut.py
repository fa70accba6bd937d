"""AI Cut: initialize (Bearer key or token), segment with dots, sessions and errors."""

from __future__ import annotations

import requests

from tests.factories import decode

from .conftest import detail

CENTRE, CORNER = (32, 24), (2, 2)


def test_segment_selects_around_green_dots(api, png):
    uf = api.initialize(png).json()["unique_filename"]
    response = api.segment(uf, [CENTRE], [CORNER])
    assert response.status_code == 200
    cut = decode(requests.get(response.json()["output_url"], timeout=30).content)
    assert cut.format == "PNG" and cut.mode == "RGBA" and cut.size == (64, 48)
    assert cut.getpixel(CENTRE)[3] == 255 and cut.getpixel(CORNER)[3] == 0


def test_segments_are_free_and_echo_request_number(api, png):
    before = api.server.credits
    uf = api.initialize(png).json()["unique_filename"]
    for number in (1, 2, 3):
        response = api.segment(uf, [CENTRE], number=number)
        assert response.json()["request_number"] == number
    assert before - api.server.credits == 1
    assert [c.endpoint for c in api.server.ledger] == ["ai_cut_initialize"]


def test_initialize_with_too_few_credits_is_402(api, png):
    api.server.set_credits(0.5)
    response = api.initialize(png)
    assert response.status_code == 402
    assert api.server.credits == 0.5 and api.server.state.sessions == {}


def test_initialize_errors(api, png):
    assert api.initialize(b"GIF89a not really").status_code == 400
    no_image = requests.post(f"{api.base}/v3/ai-cut/initialize/", headers=api.headers, timeout=30)
    assert no_image.status_code == 400
    unauthorised = requests.post(
        f"{api.base}/v3/ai-cut/initialize/", files={"image": ("p.png", png)}, timeout=30
    )
    assert unauthorised.status_code == 401
    assert api.server.ledger == []


def test_unknown_or_expired_session_is_404(api, png):
    assert api.segment("no-such-session", [CENTRE]).status_code == 404
    uf = api.initialize(png).json()["unique_filename"]
    api.server.expire(uf)
    response = api.segment(uf, [CENTRE])
    assert response.status_code == 404
    assert detail(response) == "Session not found or has expired."


def test_remove_bg_unique_filename_is_not_an_ai_cut_session(api, png):
    uf = api.upload(png).json()["unique_filename"]
    assert api.segment(uf, [CENTRE]).status_code == 404


def test_bad_segment_bodies_are_400(api, png):
    uf = api.initialize(png).json()["unique_filename"]
    base = {
        "unique_filename": uf,
        "greenDots": [{"x": 1, "y": 1}],
        "redDots": [],
        "request_number": 1,
    }
    bad = [
        {k: v for k, v in base.items() if k != "greenDots"},
        {k: v for k, v in base.items() if k != "redDots"},
        {k: v for k, v in base.items() if k != "request_number"},
        {**base, "greenDots": [{"x": "1", "y": 1}]},
        {**base, "greenDots": [[1, 1]]},
        {**base, "redDots": [{"x": 1}]},
        {**base, "greenDots": [{"x": 64, "y": 1}]},  # outside a 64-wide image
        {**base, "request_number": 0},
        {**base, "request_number": "1"},
    ]
    for body in bad:
        response = requests.post(
            f"{api.base}/v3/ai-cut/segment/", headers=api.headers, json=body, timeout=30
        )
        assert response.status_code == 400, body
        assert detail(response)


def test_segment_needs_credentials_for_a_bearer_session(api, png):
    uf = api.initialize(png).json()["unique_filename"]
    assert api.segment(uf, [CENTRE], headers={}).status_code == 401
    wrong = api.segment(uf, [CENTRE], headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401


def test_token_session_accepts_its_own_token_and_refuses_others(api, png):
    token = api.token("ai-cut").json()["access_token"]
    init = requests.post(
        f"{api.base}/v3/ai-cut/initialize/",
        data={"token": token},
        files={"image": ("p.png", png)},
        timeout=30,
    )
    uf = init.json()["unique_filename"]
    own = api.segment(uf, [CENTRE], headers={"Authorization": f"Bearer {token}"})
    assert own.status_code == 200
    other = api.token("ai-cut").json()["access_token"]
    refused = api.segment(uf, [CENTRE], headers={"Authorization": f"Bearer {other}"})
    assert refused.status_code == 401
    with_key = api.segment(uf, [CENTRE], number=2)
    assert with_key.status_code == 200


def test_segment_with_malformed_json_is_400(api):
    response = requests.post(
        f"{api.base}/v3/ai-cut/segment/",
        headers={**api.headers, "Content-Type": "application/json"},
        data=b"[1, 2",
        timeout=30,
    )
    assert response.status_code == 400
