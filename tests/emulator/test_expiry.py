"""Result URLs, uploads and sessions really expire (TTLs, or ``expire()`` to skip the wait)."""

from __future__ import annotations

import pytest
import requests


def _process(api, png):
    uf = api.upload(png).json()["unique_filename"]
    return uf, api.process(uf, [{"variant_name": "a"}]).json()


@pytest.mark.bgcut_server(url_ttl=60, upload_ttl=600)
def test_result_urls_expire_after_url_ttl(api, png):
    uf, result = _process(api, png)
    url = result["output_urls"]["a"]
    assert requests.get(url, timeout=30).status_code == 200
    api.server.advance(61)
    gone = requests.get(url, timeout=30)
    assert gone.status_code == 404
    assert requests.get(result["input_url"], timeout=30).status_code == 404
    # The upload outlives its URLs: processing again gives fresh ones.
    again = api.process(uf, [{"variant_name": "a"}])
    assert again.status_code == 200
    assert requests.get(again.json()["output_urls"]["a"], timeout=30).status_code == 200


@pytest.mark.bgcut_server(upload_ttl=120)
def test_unique_filename_expires_after_upload_ttl(api, png):
    uf, _ = _process(api, png)
    api.server.advance(121)
    response = api.process(uf, [{"variant_name": "a"}])
    assert response.status_code == 404
    assert "expired" in response.json()["detail"]


def test_expire_one_unique_filename(api, png):
    uf1, result1 = _process(api, png)
    uf2, result2 = _process(api, png)
    api.server.expire(uf1)
    assert api.process(uf1, [{"variant_name": "a"}]).status_code == 404
    assert requests.get(result1["output_urls"]["a"], timeout=30).status_code == 404
    assert api.process(uf2, [{"variant_name": "a"}]).status_code == 200
    assert requests.get(result2["output_urls"]["a"], timeout=30).status_code == 200


def test_expire_everything(api, png):
    uf, result = _process(api, png)
    token = api.token(body={"output_variants": [{"variant_name": "a"}]}).json()["access_token"]
    api.server.expire()
    assert api.process(uf, [{"variant_name": "a"}]).status_code == 404
    assert requests.get(result["output_urls"]["a"], timeout=30).status_code == 404
    response = requests.post(
        f"{api.base}/v3/remove-bg/", data={"token": token}, files={"image": png}, timeout=30
    )
    assert response.status_code == 401


def test_unknown_result_file_is_404(api):
    assert requests.get(f"{api.base}/results/nothing.png", timeout=30).status_code == 404
