"""Plain Django: the cut-out admin (list, filters, retry, redo) and the preview on a model's page.

Django's own admin views through the test client, real rows made by the local engine (or the
emulator when credits matter).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages

from tests.factories import ImageBytesFactory, ProductFactory, UserFactory
from wagtail_bgcut.models import Cutout

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.ecosystem.urls")]

CHANGELIST = "/django-admin/wagtail_bgcut/cutout/"


@pytest.fixture
def admin_client_(client):
    client.force_login(UserFactory(superuser=True))
    return client


@pytest.fixture
def product(committed):
    with committed():  # the field's cut-outs are made on commit (ImmediateBackend)
        return ProductFactory(data=ImageBytesFactory(seed=5))


def failed_row(product) -> Cutout:
    row = Cutout.objects.get(preset="full")
    Cutout.objects.filter(pk=row.pk).update(
        status="failed", error="ServiceBusy: 503", retryable=False, attempts=5
    )
    return row


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_changelist_lists_and_filters(admin_client_, product):
    failed_row(product)
    html = admin_client_.get(CHANGELIST).content.decode()
    assert "Retry the selected failed cut-outs" in html and "Redo the selected cut-outs" in html
    assert html.count('class="bgcut-preview"') == 1  # the done row's thumbnail only
    listed = admin_client_.get(CHANGELIST).context["cl"].result_list
    assert sorted(row.preset for row in listed) == ["full", "thumbnail"]
    failed = admin_client_.get(CHANGELIST, {"status__exact": "failed"}).context["cl"].result_list
    assert [row.preset for row in failed] == ["full"]
    assert admin_client_.get(f"{CHANGELIST}add/").status_code == 403


def test_retry_queues_failed_rows_and_they_are_made(admin_client_, product, committed):
    row = failed_row(product)
    done = Cutout.objects.get(preset="thumbnail")
    with committed():
        response = admin_client_.post(
            CHANGELIST, {"action": "retry", "_selected_action": [row.pk, done.pk]}, follow=True
        )
    assert "1 cut-out was queued again." in messages_of(response)
    assert any("finished cut-out was left alone" in m for m in messages_of(response))
    row.refresh_from_db()
    assert row.status == "done" and row.file and row.error == ""


def test_redo_asks_first_and_shows_the_credits(admin_client_, bgcut_server, committed):
    with committed():
        product = ProductFactory(data=ImageBytesFactory(seed=6))
    rows = list(Cutout.objects.filter(status="done").order_by("pk"))
    assert len(rows) == 2 and len(bgcut_server.ledger) == 1
    ids = [r.pk for r in rows]

    response = admin_client_.post(CHANGELIST, {"action": "redo", "_selected_action": ids})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Estimated cost: 2.5 credits." in html  # full 1 + autocropped thumbnail 1.5
    assert len(bgcut_server.ledger) == 1  # nothing spent by asking

    with committed():
        response = admin_client_.post(
            CHANGELIST,
            {"action": "redo", "_selected_action": ids, "confirm": "yes"},
            follow=True,
        )
    assert "2 cut-outs are being made again." in messages_of(response)
    assert len(bgcut_server.ledger) == 2  # one more call, both presets in it
    assert all(r.status == "done" for r in Cutout.objects.all())
    product.refresh_from_db()
    assert product.cutout  # the field still points at a file


def test_view_only_staff_cannot_run_actions(client, product):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_cutout"))
    client.force_login(user)
    response = client.get(CHANGELIST)
    html = response.content.decode()
    assert len(response.context["cl"].result_list) == 2
    assert "Retry the selected" not in html
    row = failed_row(product)
    client.post(CHANGELIST, {"action": "retry", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.status == "failed"


def test_product_page_previews_each_cutout_field(admin_client_, product):
    product.refresh_from_db()
    html = admin_client_.get(f"/django-admin/testapp/product/{product.pk}/change/").content.decode()
    assert html.count('class="bgcut-preview__frame"') == 2
    assert f'src="{product.cutout.url}"' in html and f'src="{product.thumb.url}"' in html
    assert "linear-gradient(45deg" in html  # the checkerboard behind the transparent parts


def test_product_page_before_the_cutout_is_made(admin_client_):
    product = ProductFactory(data=ImageBytesFactory(seed=7))  # on-commit work not run
    html = admin_client_.get(f"/django-admin/testapp/product/{product.pk}/change/").content.decode()
    assert html.count("Not made yet") == 2


def test_preview_widget_displays_and_submits_nothing(product):
    from django import forms

    from wagtail_bgcut.widgets import CutoutPreviewWidget

    product.refresh_from_db()

    class PreviewForm(forms.Form):
        cutout = forms.ImageField(required=False, widget=CutoutPreviewWidget(max_size=50))

    form = PreviewForm(initial={"cutout": product.cutout})
    html = str(form["cutout"])
    assert f'src="{product.cutout.url}"' in html
    width, height = product.cutout.width, product.cutout.height
    scale = 50 / max(width, height)
    assert f'width="{round(width * scale)}" height="{round(height * scale)}"' in html
    assert "<input" not in html
    bound = PreviewForm(data={"cutout": "anything"}, files={})
    assert bound.is_valid() and bound.cleaned_data["cutout"] is None


def test_redo_leaves_cutouts_of_a_vanished_original_alone(admin_client_, product):
    from wagtail_bgcut.models import SourceFile

    SourceFile.objects.all().delete()  # as after the original was deleted and forgotten
    rows = list(Cutout.objects.filter(status="done"))
    response = admin_client_.post(
        CHANGELIST,
        {"action": "redo", "_selected_action": [r.pk for r in rows], "confirm": "yes"},
        follow=True,
    )
    assert any("no longer exists were left alone: 2" in m for m in messages_of(response))
    assert all(r.status == "done" and r.file for r in Cutout.objects.all())
