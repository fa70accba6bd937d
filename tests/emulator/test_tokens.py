"""Token API and the token-based Processing API calls: binding, single use, expiry, credits."""

from __future__ import annotations

import requests

from .conftest import detail

VARIANTS = [{"variant_name": "full"}, {"variant_name": "thumb", "autocrop": True}]


def _remove_bg(api, token, image=None):
    files = {"image": ("photo.png", image)} if image is not None else None
    return requests.post(
        f"{api.base}/v3/remove-bg/", data={"token": token}, files=files, timeout=60
    )


def test_token_is_bound_to_its_variants(api, png):
    token = api.token(body={"output_variants": VARIANTS}).json()["access_token"]
    response = _remove_bg(api, token, png)
    assert response.status_code == 200
    assert set(response.json()["output_urls"]) == {"full", "thumb"}
    assert [(c.endpoint, c.credits, c.variants) for c in api.server.ledger] == [
        ("remove_bg", 2.5, ("full", "thumb"))
    ]


def test_token_with_unique_filename_needs_no_image(api, png):
    uf = api.upload(png).json()["unique_filename"]
    token = api.token(body={"output_variants": VARIANTS, "unique_filename": uf}).json()
    response = _remove_bg(api, token["access_token"])
    assert response.status_code == 200
    assert response.json()["unique_filename"] == uf


def test_token_for_an_unknown_unique_filename_is_404(api):
    response = api.token(body={"output_variants": VARIANTS, "unique_filename": "nope"})
    assert response.status_code == 404


def test_remove_bg_token_is_single_use(api, png):
    token = api.token(body={"output_variants": VARIANTS}).json()["access_token"]
    assert _remove_bg(api, token, png).status_code == 200
    again = _remove_bg(api, token, png)
    assert again.status_code == 401
    assert len(api.server.ledger) == 1


def test_a_failed_call_does_not_spend_the_token(api, png):
    token = api.token(body={"output_variants": VARIANTS}).json()["access_token"]
    assert _remove_bg(api, token, b"not an image").status_code == 400
    assert _remove_bg(api, token, png).status_code == 200


def test_token_kinds_are_not_interchangeable(api, png):
    remove_bg = api.token(body={"output_variants": VARIANTS}).json()["access_token"]
    ai_cut = api.token("ai-cut").json()["access_token"]
    init = requests.post(
        f"{api.base}/v3/ai-cut/initialize/",
        data={"token": remove_bg},
        files={"image": ("p.png", png)},
        timeout=30,
    )
    assert init.status_code == 401
    assert _remove_bg(api, ai_cut, png).status_code == 401


def test_expired_token_is_401(api, png):
    token = api.token(body={"output_variants": VARIANTS}).json()["access_token"]
    api.server.advance(api.server.state.token_ttl + 1)
    response = _remove_bg(api, token, png)
    assert response.status_code == 401
    assert "token" in detail(response).lower()


def test_missing_or_forged_token_is_401(api, png):
    assert _remove_bg(api, None, png).status_code == 401
    assert _remove_bg(api, "eyJforged", png).status_code == 401


def test_token_endpoints_need_the_bearer_key(api):
    for kind, body in (("remove-bg", {"output_variants": VARIANTS}), ("ai-cut", None)):
        response = requests.post(
            f"{api.token_base}/v3/{kind}/token/",
            headers={"Authorization": "Bearer wrong"},
            json=body,
            timeout=30,
        )
        assert response.status_code == 401
    assert api.server.ledger == []


def test_token_request_validates_variants(api):
    assert api.token(body={}).status_code == 400
    duplicate = api.token(body={"output_variants": [{"variant_name": "a"}, {"variant_name": "a"}]})
    assert duplicate.status_code == 400
    assert (
        api.token(body={"output_variants": [{"variant_name": "a", "format": "bmp"}]}).status_code
        == 422
    )


def test_token_request_with_malformed_json_is_400(api):
    response = requests.post(
        f"{api.token_base}/v3/remove-bg/token/",
        headers={**api.headers, "Content-Type": "application/json"},
        data=b"{nope",
        timeout=30,
    )
    assert response.status_code == 400


def test_remove_bg_token_is_refused_402_when_credits_are_short(api):
    api.server.set_credits(2)
    response = api.token(body={"output_variants": VARIANTS})  # needs 2.5
    assert response.status_code == 402
    assert api.server.credits == 2 and api.server.ledger == []


def test_processing_with_a_token_is_402_if_credits_ran_out_meanwhile(api, png):
    token = api.token(body={"output_variants": VARIANTS}).json()["access_token"]
    api.server.set_credits(1)
    response = _remove_bg(api, token, png)
    assert response.status_code == 402
    assert api.server.credits == 1


def test_ai_cut_token_costs_two_credits_at_issue(api):
    api.server.set_credits(3)
    assert api.token("ai-cut").status_code == 200
    assert api.server.credits == 1
    refused = api.token("ai-cut")
    assert refused.status_code == 402
    assert api.server.credits == 1


def test_ai_cut_token_is_single_use(api, png):
    token = api.token("ai-cut").json()["access_token"]
    first = requests.post(
        f"{api.base}/v3/ai-cut/initialize/",
        data={"token": token},
        files={"image": ("p.png", png)},
        timeout=30,
    )
    second = requests.post(
        f"{api.base}/v3/ai-cut/initialize/",
        data={"token": token},
        files={"image": ("p.png", png)},
        timeout=30,
    )
    assert (first.status_code, second.status_code) == (200, 401)


def test_a_token_raced_by_parallel_calls_pays_for_one_result(api, png):
    from concurrent.futures import ThreadPoolExecutor

    token = api.token(body={"output_variants": VARIANTS}).json()["access_token"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(pool.map(lambda _: _remove_bg(api, token, png).status_code, range(4)))
    assert statuses == [200, 401, 401, 401]
    assert len(api.server.ledger) == 1
