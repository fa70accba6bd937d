"""AI Cut through the client: Bearer sessions, token sessions, accumulated dots."""

from __future__ import annotations

from PIL import Image

from wagtail_bgcut.client import AICutSession, SegmentResult


def test_bearer_session_and_refinement(target, client, png):
    session = client.ai_cut_initialize(png)
    assert isinstance(session, AICutSession) and session.unique_filename
    first = client.ai_cut_segment(session.unique_filename, [(48, 36)], [], 1)
    assert isinstance(first, SegmentResult)
    assert (first.status, first.request_number) == ("completed", 1)
    second = client.ai_cut_segment(
        session.unique_filename, [(48, 36), (50, 40)], [(2, 2)], 2, scale=session.scale
    )
    assert second.request_number == 2 and second.unique_filename == session.unique_filename
    with (
        client.download(second.output_url, expected_format="png") as file,
        Image.open(file.path) as img,
    ):
        assert img.mode == "RGBA"
        assert img.getpixel((48, 36))[3] == 255 and img.getpixel((2, 2))[3] == 0
    if target.server is not None:
        assert [(c.endpoint, c.credits) for c in target.server.ledger] == [("ai_cut_initialize", 1)]


def test_token_session(target, client, png):
    token = client.create_ai_cut_token()
    session = client.ai_cut_initialize_with_token(token, png)
    assert session.unique_filename and session.bucket is not None
    result = client.ai_cut_segment(session.unique_filename, [(48, 36)], [(2, 2)], 1)
    assert result.status == "completed"
    if target.server is not None:
        assert [(c.endpoint, c.credits) for c in target.server.ledger] == [("ai_cut_token", 2)]
