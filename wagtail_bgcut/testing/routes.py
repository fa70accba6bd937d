"""Routes of both API hosts on one port (werkzeug routing).

``/api/v3/...`` is the Token API (``https://backgroundcut.co/api/v3/``), ``/v3/...`` and ``/v2/...``
the Processing API (``https://api.backgroundcut.co``), ``/results/...`` the emulator's own
short-lived result files and ``/_emulator/...`` its control endpoints (moto's ``/moto-api``).
Endpoint names are what the request log and the ledger call each route.
"""

from __future__ import annotations

from werkzeug.routing import Map, Rule

POST = ["POST"]

url_map = Map(
    [
        # Token API
        Rule("/api/v3/remove-bg/token/", endpoint="remove_bg_token", methods=POST),
        Rule("/api/v3/ai-cut/token/", endpoint="ai_cut_token", methods=POST),
        # Processing API, v3
        Rule("/v3/remove-bg/", endpoint="remove_bg", methods=POST),
        Rule("/v3/remove-bg/upload-image/", endpoint="upload_image", methods=POST),
        Rule("/v3/remove-bg/process-image/", endpoint="process_image", methods=POST),
        Rule("/v3/ai-cut/initialize/", endpoint="ai_cut_initialize", methods=POST),
        Rule("/v3/ai-cut/segment/", endpoint="ai_cut_segment", methods=POST),
        # Processing API, legacy v2
        Rule("/v2/cut/", endpoint="v2_cut", methods=POST),
        # Result files
        Rule("/results/<name>", endpoint="result_file", methods=["GET"]),
        # Emulator control (no auth: a loopback test tool)
        Rule("/_emulator/state", endpoint="control_state", methods=["GET"]),
        Rule("/_emulator/reset", endpoint="control_reset", methods=POST),
        Rule("/_emulator/credits", endpoint="control_credits", methods=POST),
        Rule("/_emulator/faults", endpoint="control_faults", methods=POST),
        Rule("/_emulator/expire", endpoint="control_expire", methods=POST),
    ]
)
