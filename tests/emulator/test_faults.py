"""Fault injection: statuses, rates, latency, connection resets and truncated bodies."""

from __future__ import annotations

import random

import pytest
import requests

from wagtail_bgcut.testing.faults import FaultInjector


def test_status_n_times_then_normal(api, png):
    api.server.inject(status=503, times=2, retry_after=7)
    first, second, third = (api.upload(png) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.headers["Retry-After"] == "7"
    assert first.json()["detail"]
    assert [r.fault for r in api.server.requests] == ["status 503", "status 503", None]


def test_fault_charges_nothing(api, png):
    uf = api.upload(png).json()["unique_filename"]
    api.server.inject(504, detail="Processing timeout.")
    response = api.process(uf, [{"variant_name": "a"}])
    assert response.status_code == 504 and response.json()["detail"] == "Processing timeout."
    assert api.server.ledger == []


def test_path_filter(api, png):
    api.server.inject(429, path="/v3/remove-bg/process-image/", retry_after=1)
    uf = api.upload(png).json()["unique_filename"]
    assert api.process(uf, [{"variant_name": "a"}]).status_code == 429
    assert api.process(uf, [{"variant_name": "a"}]).status_code == 200


def test_glob_path_filter(api, png):
    api.server.inject(503, path="/results/*.png", times=None)
    uf = api.upload(png).json()["unique_filename"]
    urls = api.process(uf, [{"variant_name": "a"}, {"variant_name": "b", "format": "webp"}])
    urls = urls.json()["output_urls"]
    assert requests.get(urls["a"], timeout=30).status_code == 503
    assert requests.get(urls["b"], timeout=30).status_code == 200


def test_rate_fires_with_that_probability():
    faults = FaultInjector(rng=random.Random(1))
    faults.add(503, times=None, rate=0.3)
    fired = sum(faults.take("/v3/x") is not None for _ in range(1000))
    assert 230 < fired < 370


def test_rate_zero_never_fires_and_one_always_does():
    faults = FaultInjector()
    faults.add(503, times=None, rate=0.0)
    assert all(faults.take("/") is None for _ in range(50))
    faults.clear()
    faults.add(503, times=None, rate=1.0)
    assert all(faults.take("/") is not None for _ in range(50))


def test_latency_alone_then_success(api, png):
    api.server.inject(latency=0.2)
    response = api.upload(png)
    assert response.status_code == 200
    assert api.server.requests[-1].fault == "latency"


def test_latency_past_the_client_timeout(api, png):
    api.server.inject(latency=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(
            f"{api.base}/v3/remove-bg/upload-image/",
            headers=api.headers,
            files={"image": png},
            timeout=(5, 0.2),
        )


def test_connection_reset(api, png):
    api.server.inject(reset=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        api.upload(png)
    assert api.server.requests[-1].status is None
    assert api.server.requests[-1].fault == "reset"
    assert api.upload(png).status_code == 200


def test_truncated_body(api, png):
    uf = api.upload(png).json()["unique_filename"]
    url = api.process(uf, [{"variant_name": "a"}]).json()["output_urls"]["a"]
    api.server.inject(truncate=True, path="/results/")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url, timeout=30)
    assert len(requests.get(url, timeout=30).content) > 0


@pytest.mark.parametrize(
    "kwargs", [{"status": 42}, {"rate": 1.5}, {"times": 0}], ids=["status", "rate", "times"]
)
def test_bad_fault_arguments_are_refused(bgcut_server, kwargs):
    with pytest.raises(ValueError):
        bgcut_server.inject(**kwargs)
