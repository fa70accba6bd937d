"""Connection handling: a caller's own session, custom User-Agent, concurrent use."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from .conftest import Reply, fast_client

UPLOAD = "/v3/remove-bg/upload-image/"


def test_a_callers_session_is_used_and_left_open(stub, png_bytes):
    stub.add(UPLOAD, Reply(200, {"unique_filename": "u"}))
    session = requests.Session()
    session.headers["X-Trace"] = "abc"
    with fast_client(stub.base, session=session, user_agent="my-app/2") as client:
        client.upload_image(png_bytes)
    seen = stub.calls(UPLOAD)[0]
    assert seen.headers["X-Trace"] == "abc"
    assert seen.headers["User-Agent"] == "my-app/2"
    assert session.get(stub.url(UPLOAD)).status_code == 200  # still usable after close()
    session.close()


def test_one_client_serves_many_threads(stub, png_bytes):
    stub.add(UPLOAD, Reply(200, {"unique_filename": "u"}))
    with fast_client(stub.base) as client, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: client.upload_image(png_bytes), range(24)))
    assert [r.unique_filename for r in results] == ["u"] * 24
    assert len(stub.calls(UPLOAD)) == 24
