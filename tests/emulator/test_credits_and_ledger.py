"""Credits are charged on success only; the ledger and the request log say what happened."""

from __future__ import annotations

import pytest

from wagtail_bgcut.testing import EmulatorServer


def test_insufficient_credits_is_402_and_charges_nothing(api, png):
    uf = api.upload(png).json()["unique_filename"]
    api.server.set_credits(1.5)
    response = api.process(uf, [{"variant_name": "a"}, {"variant_name": "b"}])
    assert response.status_code == 402
    assert "credits" in response.json()["detail"].lower()
    assert api.server.credits == 1.5 and api.server.ledger == []
    assert api.server.state.results == {}  # no output files left behind


def test_exact_credits_are_enough(api, png):
    uf = api.upload(png).json()["unique_filename"]
    api.server.set_credits(1.5)
    assert api.process(uf, [{"variant_name": "a", "autocrop": True}]).status_code == 200
    assert api.server.credits == 0


def test_uploads_are_free_and_4xx_never_charge(api, png):
    uf = api.upload(png).json()["unique_filename"]
    api.process(uf, [{"variant_name": "a", "quality": "bad"}])
    api.process("missing", [{"variant_name": "a"}])
    api.v2(b"junk")
    assert api.server.ledger == []


def test_ledger_lines(api, png):
    uf = api.upload(png).json()["unique_filename"]
    api.process(uf, [{"variant_name": "full"}, {"variant_name": "thumb", "autocrop": True}])
    (charge,) = api.server.ledger
    assert charge.endpoint == "process_image"
    assert charge.credits == 2.5
    assert charge.variants == ("full", "thumb")
    assert charge.unique_filename == uf
    assert charge.time > 0


def test_request_log_has_no_credentials(api, png):
    api.upload(png)
    api.process("missing", [{"variant_name": "a"}])
    log = api.server.requests
    assert [(r.method, r.path, r.status, r.endpoint) for r in log] == [
        ("POST", "/v3/remove-bg/upload-image/", 200, "upload_image"),
        ("POST", "/v3/remove-bg/process-image/", 404, "process_image"),
    ]
    assert api.key not in repr(log)
    assert api.key not in repr(api.server)


def test_reset_restores_everything(api, png):
    uf = api.upload(png).json()["unique_filename"]
    api.process(uf, [{"variant_name": "a"}])
    api.server.inject(503, times=None)
    api.server.reset()
    assert api.server.ledger == [] and api.server.requests == []
    assert api.server.credits == api.server.state.initial_credits
    assert api.process(uf, [{"variant_name": "a"}]).status_code == 404  # upload forgotten
    assert api.upload(png).status_code == 200  # faults cleared


@pytest.mark.bgcut_server(credits=10, pricing={"variant": 2, "autocrop": 1, "v2_cut": 3})
def test_custom_pricing(api, png):
    uf = api.upload(png).json()["unique_filename"]
    api.process(uf, [{"variant_name": "a"}, {"variant_name": "b", "autocrop": True}])
    api.v2(png)
    assert [c.credits for c in api.server.ledger] == [5, 3]
    assert api.server.credits == 2


def test_unknown_pricing_key_is_refused():
    with pytest.raises(ValueError, match="colour"):
        EmulatorServer(pricing={"colour": 1})


def test_concurrent_process_calls_cut_once_and_charge_each(api, png):
    from concurrent.futures import ThreadPoolExecutor

    uf = api.upload(png).json()["unique_filename"]
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda i: api.process(uf, [{"variant_name": f"v{i}"}]), range(6)))
    assert [r.status_code for r in responses] == [200] * 6
    assert len(api.server.ledger) == 6
    assert api.server.credits == api.server.state.initial_credits - 6
    assert api.server.state.get_upload(uf).cuts == 1


@pytest.mark.bgcut_server(credits=3)
def test_concurrent_calls_never_overdraw(api, png):
    from concurrent.futures import ThreadPoolExecutor

    uf = api.upload(png).json()["unique_filename"]
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(
            pool.map(lambda i: api.process(uf, [{"variant_name": "a"}]).status_code, range(6))
        )
    assert statuses == [200, 200, 200, 402, 402, 402]
    assert api.server.credits == 0
