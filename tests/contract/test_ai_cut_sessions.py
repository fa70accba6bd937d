"""The admin's AI Cut against the faithful emulator: sessions that expire, request numbers kept on
the server, the editor's budget. What the provider saw is read from the emulator's session record
(every ``request_number`` it received, in order) and its ledger."""

from __future__ import annotations

import json

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from tests.factories import PASSWORD, CollectionFactory, EditorFactory, WagtailImageFactory
from wagtail_bgcut.testing.pytest_plugin import settings_for

pytestmark = [pytest.mark.django_db, pytest.mark.bgcut_server(faithful=True)]


@pytest.fixture
def image(root_collection, run_on_commit):
    shop = CollectionFactory(name="Shop")
    with run_on_commit():
        image = WagtailImageFactory(
            title="Red ball", collection=shop, data__ball=True, filename="ball.png"
        )
    image.editor = EditorFactory(username="editor", collection=shop)
    return image


def login(image) -> Client:
    browser = Client()
    assert browser.login(username=image.editor.username, password=PASSWORD)
    return browser


def post(browser, image, view, green, red=(), number=1):
    return browser.post(
        reverse(f"wagtail_bgcut:aicut_{view}", args=[image.pk]),
        json.dumps({"green": list(green), "red": list(red), "request_number": number}),
        content_type="application/json",
    )


def provider_sessions(server):
    with server.state.lock:
        return {uf: list(s.numbers) for uf, s in server.state.sessions.items()}


def test_request_numbers_go_up_by_one_per_call_through_reloads_and_save(image, bgcut_server):
    browser = login(image)
    assert post(browser, image, "segment", [[48, 36]], number=1).status_code == 200
    assert post(browser, image, "segment", [[48, 36]], [[5, 5]], number=2).status_code == 200
    # A reload: the browser starts counting at 1 again, another tab too.
    reloaded = post(browser, image, "segment", [[48, 36], [40, 30]], number=1)
    assert reloaded.status_code == 200 and reloaded.json()["request_number"] == 1  # its own echo
    # Save with the dots of the last refinement: already paid for and computed, nothing sent.
    saved = post(browser, image, "save", [[48, 36], [40, 30]], number=1)
    assert saved.status_code == 200
    # Save with new dots: one more call, with the next number.
    assert post(browser, image, "save", [[47, 35]], number=1).status_code == 200
    (numbers,) = provider_sessions(bgcut_server).values()
    assert numbers == [1, 2, 3, 4]
    assert [c.endpoint for c in bgcut_server.ledger] == ["ai_cut_initialize"]


def test_an_expired_session_is_started_again_and_the_editor_is_told_it_cost_a_credit(
    image, bgcut_server
):
    browser = login(image)
    first = post(browser, image, "segment", [[48, 36]], number=1)
    assert first.status_code == 200 and "notice" not in first.json()
    (old,) = provider_sessions(bgcut_server)
    bgcut_server.expire(old)  # 04: "Sessions expire"

    again = post(browser, image, "segment", [[48, 36]], [[5, 5]], number=2)
    assert again.status_code == 200, again.content
    assert "expired" in again.json()["notice"] and "1 credit" in again.json()["notice"]
    sessions = provider_sessions(bgcut_server)
    new = next(uf for uf in sessions if uf != old)
    assert sessions[new] == [1]  # a new provider session counts from 1 again
    assert [c.endpoint for c in bgcut_server.ledger] == ["ai_cut_initialize"] * 2
    # And it goes on from there, in this and in another web request.
    assert post(browser, image, "segment", [[48, 36]], [[6, 6]], number=3).status_code == 200
    assert provider_sessions(bgcut_server)[new] == [1, 2]


def test_an_editor_over_their_cap_is_refused_before_the_session_is_paid_for(image, bgcut_server):
    settings = {**settings_for(bgcut_server), "BUDGET_USER_MONTHLY_CREDITS": 0.5}
    with override_settings(WAGTAIL_BGCUT=settings):
        response = post(login(image), image, "segment", [[48, 36]])
    assert response.status_code == 402
    assert "Your monthly BackgroundCut budget is used up" in response.json()["error"]
    assert bgcut_server.ledger == []
    assert not [r for r in bgcut_server.requests if r.endpoint == "ai_cut_initialize"]


def test_the_key_never_reaches_the_editor_when_the_provider_fails(image, bgcut_server):
    bgcut_server.inject(
        status=500, times=None, path="/v3/ai-cut/", detail=f"oops {bgcut_server.api_key}"
    )
    response = post(login(image), image, "segment", [[48, 36]])
    assert response.status_code == 502
    assert bgcut_server.api_key not in response.content.decode()


def test_the_status_page_shows_the_budget_and_what_was_spent(image, bgcut_server):
    settings = {
        **settings_for(bgcut_server),
        "BUDGET_MONTHLY_CREDITS": 10,
        "BUDGET_USER_MONTHLY_CREDITS": 4,
    }
    browser = login(image)
    with override_settings(WAGTAIL_BGCUT=settings):
        assert post(browser, image, "segment", [[48, 36]]).status_code == 200  # 1 credit
        page = browser.get(reverse("wagtail_bgcut:status")).content.decode()
    assert "1 credits" in page.split("data-bgcut-budget-spent>")[1].split("</dd>")[0]
    assert "10 credits (9 left)" in page
    assert "4 credits" in page.split("data-bgcut-budget-user>")[1].split("</dd>")[0]
