"""The per-user cap covers the admin's Remove background and the bulk action, in the worker too.

Against the emulator in its faithful mode (remove-bg is charged when its token is issued). What
was paid for is the emulator's own ledger; who asked is ``Cutout.requested_by``, which travels
with the queued work to whichever process makes the call. Work queued by code (AUTO_PROCESS, a
render) has no requester and counts against the site's cap only.
"""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client, override_settings
from django.urls import reverse
from django.utils.html import strip_tags

from tests.factories import (
    PASSWORD,
    CollectionFactory,
    EditorFactory,
    UserFactory,
    WagtailImageFactory,
)
from wagtail_bgcut import pipeline
from wagtail_bgcut.cutouts import resolve_cutout
from wagtail_bgcut.models import CreditSpend, Cutout
from wagtail_bgcut.signals import budget_cap_reached
from wagtail_bgcut.testing.pytest_plugin import settings_for

pytestmark = [pytest.mark.django_db, pytest.mark.bgcut_server(faithful=True)]

# "full" costs 1 credit (api_facts): a cap of 1 is one Remove background per editor.
CAP = 1
REFUSED = "BudgetExceeded: The monthly BackgroundCut budget of"


def paid(server) -> int:
    """Paid calls, by the emulator's own ledger; every one a ``process_image`` it was sent."""
    assert {c.endpoint for c in server.ledger} <= {"process_image"}
    assert len(server.ledger) == sum(1 for r in server.requests if r.endpoint == "process_image")
    return len(server.ledger)


def texts(response) -> list[str]:
    return [" ".join(strip_tags(str(m)).split()) for m in get_messages(response.wsgi_request)]


def login(user) -> Client:
    browser = Client()
    assert browser.login(username=user.username, password=PASSWORD)
    return browser


@pytest.fixture
def shop(root_collection):
    return CollectionFactory(name="Shop")


@pytest.fixture
def alice(shop):
    return EditorFactory(username="alice", collection=shop)


@pytest.fixture
def bob(shop):
    return EditorFactory(username="bob", collection=shop)


@pytest.fixture
def capped(bgcut_server):
    """The API backend on the emulator, no AUTO_PROCESS, a per-user cap of ``CAP`` credits."""
    settings = {
        **settings_for(bgcut_server),
        "AUTO_PROCESS": [],
        "BUDGET_USER_MONTHLY_CREDITS": CAP,
    }
    with override_settings(WAGTAIL_BGCUT=settings):
        yield settings


@pytest.fixture
def make_image(shop, run_on_commit):
    def make(seed: int):
        with run_on_commit():
            return WagtailImageFactory(
                title=f"Ball {seed}",
                collection=shop,
                data__ball=True,
                data__seed=seed,
                filename=f"ball{seed}.png",
            )

    return make


def start(browser, image, run_on_commit, **headers):
    with run_on_commit():
        return browser.post(
            reverse("wagtail_bgcut:start", args=[image.pk]), {"preset": "full"}, **headers
        )


def row(image) -> Cutout | None:
    """The image's "full" row as it is now (a fresh image: lookups are cached on the instance)."""
    found = resolve_cutout(type(image).objects.get(pk=image.pk), "full", request=False)
    return None if found is None else Cutout.objects.get(pk=found.pk)


def page(browser, image):
    url = reverse("wagtail_bgcut:remove_background", args=[image.pk]) + "?preset=full"
    return browser.get(url)


def test_remove_background_at_the_cap_is_refused_before_any_spend(
    capped, bgcut_server, make_image, alice, bob, run_on_commit
):
    one, two = make_image(1), make_image(2)
    browser = login(alice)
    start(browser, one, run_on_commit)
    assert row(one).status == Cutout.Status.DONE and row(one).requested_by == alice
    assert paid(bgcut_server) == 1

    # Alice is at her cap: refused in the request, nothing queued, nothing sent.
    response = start(browser, two, run_on_commit)
    assert response.status_code == 302
    refused = [t for t in texts(page(browser, two)) if "budget" in t]
    assert refused == [
        "Your monthly BackgroundCut budget is used up (1 of 1 credits; this needs 1). "
        "Ask an administrator to raise it."
    ]
    assert row(two) is None
    assert paid(bgcut_server) == 1
    # A script is answered 402 with the same reason.
    answer = start(browser, two, run_on_commit, HTTP_ACCEPT="application/json")
    assert answer.status_code == 402 and "budget is used up" in answer.json()["error"]
    assert paid(bgcut_server) == 1

    # Bob's own cap is untouched: his request for the same image goes through.
    start(login(bob), two, run_on_commit)
    assert row(two).status == Cutout.Status.DONE and row(two).requested_by == bob
    assert paid(bgcut_server) == 2
    assert sorted(CreditSpend.objects.values_list("user_id", "credits")) == sorted(
        [(str(alice.pk), 1.0), (str(bob.pk), 1.0)]
    )


def test_the_worker_charges_the_editor_who_asked(
    capped, bgcut_server, make_image, alice, bob, settings
):
    """Queued while under the cap, processed after it was reached: the worker, which has no
    request, refuses from the row's requester, before any call; the other editor's work goes on."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    images = [make_image(seed) for seed in (1, 2, 3)]
    alices = login(alice)
    for image in images[:2]:
        alices.post(reverse("wagtail_bgcut:start", args=[image.pk]), {"preset": "full"})
    login(bob).post(reverse("wagtail_bgcut:start", args=[images[2].pk]), {"preset": "full"})
    rows = [row(image) for image in images]
    assert [r.status for r in rows] == [Cutout.Status.PENDING] * 3  # queued, not run
    assert [r.requested_by for r in rows] == [alice, alice, bob]
    heard = []
    budget_cap_reached.connect(receiver := lambda **kw: heard.append(kw))
    try:
        # What a worker process does with the queued jobs: ids only, no user.
        done = pipeline.process_cutout_ids([r.pk for r in rows])
    finally:
        budget_cap_reached.disconnect(receiver)
    rows = [Cutout.objects.get(pk=r.pk) for r in rows]
    assert [r.status for r in rows] == ["done", "failed", "done"]
    assert sorted(done) == sorted([rows[0].pk, rows[2].pk])
    assert paid(bgcut_server) == 2  # Alice's second cut-out sent nothing
    refused = rows[1]
    assert refused.error.startswith(
        "BudgetExceeded: The monthly BackgroundCut budget of alice, who asked for this, is used "
        "up (1 of 1 credits; this needs 1)."
    )
    assert not refused.retryable and not refused.may_have_been_charged
    assert [(h["cap"], h["user_id"]) for h in heard] == [("user", str(alice.pk))]
    # The editor is shown the reason on the image's page (and by the status endpoint it polls).
    assert any("budget of alice" in t for t in texts(page(alices, images[1])))
    status = alices.get(reverse("wagtail_bgcut:cutout_status", args=[images[1].pk]))
    assert "budget of alice" in status.json()["error"]


def test_work_queued_by_code_counts_against_the_site_cap_only(
    capped, bgcut_server, make_image, alice, run_on_commit
):
    image = make_image(1)
    start(login(alice), image, run_on_commit)  # Alice is at her cap now
    other = make_image(2)
    pipeline.process_now(other, ["full"])  # a render or a command: nobody asked
    assert row(other).status == Cutout.Status.DONE and row(other).requested_by is None
    assert paid(bgcut_server) == 2
    assert CreditSpend.objects.filter(user_id="").count() == 1


@pytest.mark.django_db(transaction=True)
def test_bulk_action_at_the_cap_is_refused_before_any_spend(
    capped, bgcut_server, make_image, alice, bob
):
    images = [make_image(seed) for seed in (1, 2, 3)]
    url = reverse("wagtail_bulk_action", args=("wagtailimages", "image", "bgcut_remove_background"))
    url += "?" + "&".join(f"id={i.pk}" for i in images) + "&next=/admin/images/"
    alices = login(alice)

    # Under the cap: the worker makes what her cap pays for and refuses the rest before any call.
    got = texts(alices.post(url, {"preset": "full"}, follow=True))
    assert "Background removed from 1 image (Full size)." in got
    assert any(t.startswith(f"{REFUSED} alice") for t in got)
    assert any(t.startswith("2 images need a look") for t in got)
    assert paid(bgcut_server) == 1
    statuses = sorted(Cutout.objects.values_list("status", flat=True))
    assert statuses == ["done", "failed", "failed"]

    # At the cap: refused at once, nothing queued or sent.
    before = list(Cutout.objects.order_by("pk").values_list("pk", "status", "updated_at"))
    got = texts(alices.post(url, {"preset": "full"}, follow=True))
    assert got == [
        "Your monthly BackgroundCut budget is used up (1 of 1 credits; this needs 1). "
        "Ask an administrator to raise it."
    ]
    assert list(Cutout.objects.order_by("pk").values_list("pk", "status", "updated_at")) == before
    assert paid(bgcut_server) == 1

    # Bob's bulk action on the same images: the two refused for Alice are asked for again, now
    # for Bob; his cap pays for one, which goes through, and refuses the other before any call.
    got = texts(login(bob).post(url, {"preset": "full"}, follow=True))
    assert "Background removed from 1 image (Full size)." in got
    assert "1 image already had this cut-out: nothing was spent on it." in got
    assert any(t.startswith(f"{REFUSED} bob") for t in got)
    assert paid(bgcut_server) == 2
    assert sorted(Cutout.objects.values_list("requested_by__username", "status")) == [
        ("alice", "done"),
        ("bob", "done"),
        ("bob", "failed"),
    ]
    assert sorted(CreditSpend.objects.values_list("user_id", flat=True)) == sorted(
        [str(alice.pk), str(bob.pk)]
    )


def test_the_status_page_shows_per_user_spend(
    capped, bgcut_server, make_image, alice, bob, run_on_commit
):
    start(login(alice), make_image(1), run_on_commit)
    start(login(bob), make_image(2), run_on_commit)
    pipeline.process_now(make_image(3), ["full"])  # nobody's: in the total, in no user's line
    assert paid(bgcut_server) == 3
    admin = UserFactory(username="admin", superuser=True)

    def lines(user) -> dict[str, list[str]]:
        html = login(user).get(reverse("wagtail_bgcut:status")).content.decode()
        assert "3 credits" in html.split("data-bgcut-budget-spent>")[1].split("</dd>")[0]
        if "data-bgcut-budget-users" not in html:
            return {}
        table = html.split("data-bgcut-budget-users")[1].split("</table>")[0]
        out = {}
        for chunk in table.split("<tr data-bgcut-budget-user-row=")[1:]:
            cells = [strip_tags(c).strip() for c in chunk.split("<td>")[1:]]
            out[cells[0]] = cells[1:]
        return out

    # Superusers see everyone; an editor sees their own line only.
    assert lines(admin) == {"alice": ["1", "0"], "bob": ["1", "0"]}
    assert lines(alice) == {"alice": ["1", "0"]}


def test_a_new_image_saved_by_an_editor_queues_auto_process_work_as_theirs(
    bgcut_server, make_image, alice, settings, run_on_commit
):
    """Save as new image (like AI Cut's Save and Replace) saves through Wagtail's signals, which
    carry no request: ``tasks.requested_by`` makes the AUTO_PROCESS work the editor's."""
    image = make_image(1)
    auto = {**settings_for(bgcut_server), "AUTO_PROCESS": ["full"]}
    with override_settings(WAGTAIL_BGCUT={**auto, "AUTO_PROCESS": []}):
        pipeline.process_now(image, ["full"])  # the cut-out to save, made by nobody
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    with override_settings(WAGTAIL_BGCUT=auto):
        by_code = make_image(2)  # a save by code: AUTO_PROCESS with no requester
        with run_on_commit():
            login(alice).post(
                reverse("wagtail_bgcut:save_as_new", args=[image.pk]), {"preset": "full"}
            )
        new = type(image).objects.exclude(pk__in=[image.pk, by_code.pk]).get()
        new_row, code_row = row(new), row(by_code)
    assert new_row.status == Cutout.Status.PENDING and new_row.requested_by == alice
    assert code_row.status == Cutout.Status.PENDING and code_row.requested_by is None
    assert paid(bgcut_server) == 1  # only the first cut-out; the queued work has not run
