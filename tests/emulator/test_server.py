"""The server itself: free ports, lifecycle, the CLI, the control endpoints."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import requests

from wagtail_bgcut.testing import EmulatorServer


def test_port_zero_picks_a_free_port_and_start_waits_until_ready():
    with EmulatorServer() as one, EmulatorServer() as two:
        assert one.port != two.port and one.port > 0
        assert one.api_base == f"http://127.0.0.1:{one.port}"
        assert one.token_api_base == f"{one.api_base}/api"
        assert requests.get(f"{one.api_base}/results/x", timeout=5).status_code == 404


def test_stop_frees_the_port():
    server = EmulatorServer().start()
    base = server.api_base
    server.stop()
    try:
        requests.get(f"{base}/results/x", timeout=2)
    except requests.exceptions.ConnectionError:
        pass
    else:
        raise AssertionError("the server still answers after stop()")


def test_cli_prints_base_urls_and_serves(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wagtail_bgcut.testing.server",
            "--port",
            "0",
            "--api-key",
            "cli-key",
            "--credits",
            "5",
            "--rate-limit",
            "40",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        api_base = lines[1].strip().removeprefix("API_BASE=")
        token_base = lines[2].strip().removeprefix("TOKEN_API_BASE=")
        assert api_base.startswith("http://127.0.0.1:")
        assert token_base == f"{api_base}/api"
        ok = requests.post(
            f"{token_base}/v3/ai-cut/token/",
            headers={"Authorization": "Bearer cli-key"},
            timeout=10,
        )
        assert ok.status_code == 200
        state = requests.get(f"{api_base}/_emulator/state", timeout=10).json()
        assert state["credits"] == 3
        assert "cli-key" not in repr(state)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        finally:
            process.kill()
            process.stdout.close()
            process.stderr.close()
    assert process.returncode == 0


def test_control_endpoints(api, png):
    base = f"{api.base}/_emulator"
    requests.post(f"{base}/credits", json={"credits": 0}, timeout=5)
    assert api.v2(png).status_code == 402
    requests.post(f"{base}/faults", json={"status": 503, "times": 1}, timeout=5)
    assert api.upload(png).status_code == 503
    uf = api.upload(png).json()["unique_filename"]
    requests.post(f"{base}/expire", json={"unique_filename": uf}, timeout=5)
    assert api.process(uf, [{"variant_name": "a"}]).status_code == 404
    requests.post(f"{base}/reset", timeout=5)
    assert api.server.requests == [] and api.server.credits > 0
