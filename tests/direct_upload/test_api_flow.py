"""The two-server flow against the emulator: token, direct upload, finalize, and every refusal."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from wagtail.images import get_image_model

from tests.factories import ImageBytesFactory
from wagtail_bgcut.direct_upload import tokens
from wagtail_bgcut.models import Cutout, SourceFile

from .helpers import Flow, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def flow(alice, recorder, bgcut_server):
    return Flow(alice, recorder)


def _processed(flow, presets=("full",), image=None):
    assert flow.token(presets).status_code == 200
    status, result = flow.process(image or ImageBytesFactory(squashed_ball=True))
    assert status == 200, result
    return result


def test_token_for_signed_in_user_points_the_browser_at_the_processing_api(flow, bgcut_server):
    response = flow.token(["full", "thumbnail"])
    assert response.status_code == 200
    grant = response.json()
    assert grant["mode"] == "api"
    assert grant["process_url"] == bgcut_server.api_base + "/v3/remove-bg/"
    assert grant["presets"] == ["full", "thumbnail"]
    assert grant["token"] and grant["ticket"]
    assert response["Cache-Control"].startswith("max-age=0")
    # The token was asked for with the server's key; nothing was charged yet.
    assert [r.endpoint for r in bgcut_server.requests] == ["remove_bg_token"]
    assert bgcut_server.ledger == []
    assert flow.recorder.assert_key_absent() == 1


def test_anonymous_visitor_gets_403_and_no_token(client, recorder, bgcut_server):
    flow = Flow(client, recorder)
    response = flow.token()
    assert response.status_code == 403
    assert "token" not in response.json()
    assert response.json()["detail"] == "You are not allowed to upload images here."
    assert bgcut_server.requests == []


@pytest.mark.parametrize(
    ("presets", "message"),
    [
        (["nope"], "Preset 'nope' is not available for uploads."),
        ([], "Ask for at least one preset, as a list of names."),
        (["full"] * 1 + [f"p{i}" for i in range(5)], "At most 5 presets per upload."),
    ],
)
def test_bad_presets_are_refused_before_the_token_api(flow, bgcut_server, presets, message):
    response = flow.token(presets)
    assert response.status_code == 400
    assert response.json()["detail"] == message
    assert bgcut_server.requests == []


def test_presets_outside_the_allowed_list_are_refused(flow, bgcut_server, settings):
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "DIRECT_UPLOAD_PRESETS": ["thumbnail"]}
    assert flow.token(["full"]).status_code == 400
    assert flow.token(["thumbnail"]).status_code == 200


def test_full_upload_stores_the_cutouts_and_a_wagtail_image(flow, bgcut_server, recorder):
    image = ImageBytesFactory(squashed_ball=True)
    result = _processed(flow, ["full", "thumbnail"], image)
    response = flow.finalize(result)
    assert response.status_code == 200, response.content
    body = response.json()
    # Exactly one charge: the browser's direct upload; finalize only downloaded.
    assert [c.endpoint for c in bgcut_server.ledger] == ["remove_bg"]
    stored = get_image_model().objects.get(pk=body["result"]["image_id"])
    with stored.file.open("rb") as fh:
        assert fh.read() == image
    rows = {c.preset: c for c in Cutout.objects.all()}
    assert set(rows) == {"full", "thumbnail"}
    assert all(c.ready for c in rows.values())
    assert rows["full"].format == "png" and rows["thumbnail"].format == "webp"
    assert body["cutouts"]["full"]["url"] == rows["full"].file.url
    assert SourceFile.objects.filter(name=stored.file.name, sha256=body["source_hash"]).exists()
    recorder.assert_key_absent()


def test_the_same_bytes_again_reuse_the_stored_cutout(flow, bgcut_server):
    image = ImageBytesFactory(squashed_ball=True, seed=3)
    first = flow.finalize(_processed(flow, ["full"], image)).json()
    second = flow.finalize(_processed(flow, ["full"], image)).json()
    assert first["cutouts"]["full"]["url"] == second["cutouts"]["full"]["url"]
    assert Cutout.objects.count() == 1


def signed_ticket(flow, user, *, now: float | None = None) -> str:
    """A ticket for ``flow``'s upload, signed with the current SECRET_KEY (issued at ``now``)."""
    return tokens.issue_ticket(
        binding=f"u:{user.pk}",
        presets=["full"],
        access_token=flow.grant["token"],
        mode="api",
        ttl=300,
        now=now,
    ).sign()


def test_replayed_finalize_is_refused_and_stores_nothing(flow):
    result = _processed(flow)
    assert flow.finalize(result).status_code == 200
    before = snapshot()
    response = flow.finalize(result)
    assert response.status_code == 409
    assert response.json()["detail"] == "This upload was already finalized."
    assert snapshot() == before


def test_forged_ticket_is_refused_and_stores_nothing(flow, settings, user):
    result = _processed(flow)
    before = snapshot()
    ticket = flow.grant["ticket"]
    tampered = ticket[:-3] + ("AAA" if not ticket.endswith("AAA") else "BBB")
    response = flow.finalize(result, ticket=tampered)
    assert response.status_code == 403
    assert response.json()["detail"] == "The upload ticket was not issued by this site."
    # A well-formed ticket signed with another site's secret is refused the same way.
    settings.SECRET_KEY = "another-site"
    other = signed_ticket(flow, user)
    settings.SECRET_KEY = "tests-only-not-secret"
    assert flow.finalize(result, ticket=other).status_code == 403
    assert snapshot() == before
    # The refusals did not burn the genuine ticket.
    assert flow.finalize(result).status_code == 200


def test_expired_ticket_is_refused_and_stores_nothing(flow, user):
    result = _processed(flow)
    expired = signed_ticket(flow, user, now=time.time() - 301)
    before = snapshot()
    response = flow.finalize(result, ticket=expired)
    assert response.status_code == 403
    assert response.json()["detail"] == "The upload ticket has expired; please upload again."
    assert snapshot() == before


def test_other_users_finalize_is_refused_and_stores_nothing(flow, other_user, recorder):
    result = _processed(flow)
    bob = Client()
    bob.force_login(other_user)
    before = snapshot()
    response = flow.finalize(result, client=bob)
    assert response.status_code == 403
    assert response.json()["detail"] == "This upload was started by someone else."
    anonymous = flow.finalize(result, client=Client())
    assert anonymous.status_code == 403
    assert snapshot() == before
    assert flow.finalize(result).status_code == 200


def test_another_access_token_does_not_match_the_ticket(flow):
    result = _processed(flow)
    before = snapshot()
    response = flow.finalize(result, token="someone-elses-token")
    assert response.status_code == 403
    assert snapshot() == before


def test_result_urls_on_other_hosts_are_never_fetched(flow, bgcut_server):
    result = _processed(flow)
    before = snapshot()
    evil = {"full": "http://169.254.169.254/latest/meta-data/x.png"}
    response = flow.finalize(result, output_urls=evil)
    assert response.status_code == 400
    assert "not an allowed download host" in response.json()["detail"]
    assert snapshot() == before
    # Nothing was marked used: the genuine result still goes through.
    assert flow.finalize(result).status_code == 200


def test_the_original_cannot_be_passed_off_as_its_cutout(flow):
    result = _processed(flow)
    before = snapshot()
    response = flow.finalize(result, output_urls={"full": result["input_url"]})
    assert response.status_code == 400
    assert snapshot() == before


def test_expired_result_urls_are_refused_and_store_nothing(flow, bgcut_server):
    result = _processed(flow)
    bgcut_server.expire()
    before = snapshot()
    response = flow.finalize(result)
    assert response.status_code == 400
    assert "404" in response.json()["detail"]
    assert snapshot() == before


def test_token_and_finalize_need_the_csrf_token(flow, user, bgcut_server, recorder):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert Flow(strict, recorder).token().status_code == 403  # no CSRF token: no token
    assert [r.endpoint for r in bgcut_server.requests] == []
    result = _processed(flow)
    before = snapshot()
    assert flow.finalize(result, client=strict).status_code == 403
    assert snapshot() == before


def test_token_api_failure_is_a_503_without_provider_detail(flow, bgcut_server):
    bgcut_server.set_credits(0)
    response = flow.token()
    assert response.status_code == 503
    assert response.json() == {"detail": "Uploads are unavailable right now; try again later."}
    flow.recorder.assert_key_absent()


def test_a_phone_portrait_with_an_exif_rotation_is_accepted(flow):
    portrait = ImageBytesFactory(  # stored landscape, shown portrait
        squashed_ball=True, width=120, height=80, fmt="JPEG", orientation=6
    )
    response = flow.finalize(_processed(flow, ["full"], portrait))
    assert response.status_code == 200, response.content
    full = response.json()["cutouts"]["full"]
    assert (full["width"], full["height"]) == (80, 120)


def test_another_images_cutout_cannot_be_attached_to_this_original(flow):
    # Two genuine API results; the tampered finalize pairs one's original with the other's output.
    mine = _processed(flow, ["full"], ImageBytesFactory(squashed_ball=True, width=96, height=72))
    mine_grant = dict(flow.grant)
    other = _processed(
        flow, ["full"], ImageBytesFactory(squashed_ball=True, width=64, height=64, seed=1)
    )
    flow.grant = mine_grant
    before = snapshot()
    response = flow.finalize(mine, output_urls=other["output_urls"])
    assert response.status_code == 400
    assert response.json()["detail"] == "The 'full' result does not match the original."
    assert snapshot() == before


@pytest.mark.parametrize(
    ("size", "fmt", "message"),
    [
        ((96, 72), "webp", "The 'full' result is not a png image."),
        ((192, 144), "png", "The 'full' result is larger than the original."),
        ((96, 40), "png", "The 'full' result does not match the original."),
    ],
)
def test_outputs_must_fit_their_preset_and_original(size, fmt, message):
    from wagtail_bgcut.direct_upload.finalize import OutputFile, ResultError, check_output
    from wagtail_bgcut.variants import Variant

    variant = Variant.from_dict({"format": "png"}, name="full")
    check_output(variant, OutputFile(b"", "png", 48, 36), 96, 72)  # a downscale is fine
    with pytest.raises(ResultError, match=message.replace(".", r"\.")):
        check_output(variant, OutputFile(b"", fmt, *size), 96, 72)
    small = Variant.from_dict({"format": "png", "max_resolution": 250_000}, name="full")
    with pytest.raises(ResultError, match="larger than its preset allows"):
        check_output(small, OutputFile(b"", "png", 1000, 750), 2000, 1500)


@pytest.mark.parametrize("preset", ["full", "white"])
def test_a_same_shaped_cutout_of_another_image_is_refused(flow, settings, preset):
    settings.WAGTAIL_BGCUT = {
        **settings.WAGTAIL_BGCUT,
        "PRESETS": {
            **settings.WAGTAIL_BGCUT["PRESETS"],
            "white": {"format": "jpg", "background_color": "#ffffff"},
        },
    }
    mine = _processed(flow, [preset], ImageBytesFactory(squashed_ball=True, width=96, height=72))
    mine_grant = dict(flow.grant)
    blue_square = ImageBytesFactory(
        width=96,
        height=72,
        subject="rectangle",
        box=(20, 10, 76, 62),
        colour=(20, 40, 210),
        background=(240, 240, 240),
    )
    other = _processed(flow, [preset], blue_square)
    flow.grant = mine_grant
    before = snapshot()
    response = flow.finalize(mine, output_urls=other["output_urls"])
    assert response.status_code == 400
    assert response.json()["detail"] == f"The '{preset}' result does not match the original."
    assert snapshot() == before
    assert flow.finalize(mine).status_code == 200
