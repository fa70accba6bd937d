"""Token issues are rationed per user and per IP, and guarded by the permission callable."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import ImageBytesFactory
from wagtail_bgcut.direct_upload.throttle import check_throttle, parse_rate
from wagtail_bgcut.exceptions import BgcutConfigurationError

from .helpers import Flow

pytestmark = pytest.mark.django_db


def allow_staff_only(request) -> bool:
    return request.user.is_staff


def _throttle(settings, **rates):
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "DIRECT_UPLOAD_THROTTLE": rates}


def test_a_user_past_the_limit_gets_429_and_no_token(client, user, recorder, settings):
    _throttle(settings, user="2/hour", ip="100/hour")
    client.force_login(user)
    flow = Flow(client, recorder)
    assert [flow.token().status_code for _ in range(2)] == [200, 200]
    response = flow.token()
    assert response.status_code == 429
    assert "token" not in response.json()
    assert response.json()["detail"].startswith("Too many uploads; try again in ")
    assert 1 <= int(response["Retry-After"]) <= 3600


def test_the_ip_limit_holds_across_users(user, other_user, recorder, settings):
    _throttle(settings, user="100/hour", ip="3/hour")
    alice, bob = Client(), Client()
    alice.force_login(user)
    bob.force_login(other_user)
    codes = [Flow(c, recorder).token().status_code for c in (alice, alice, bob, bob)]
    assert codes == [200, 200, 200, 429]
    # Another address is not affected.
    assert Flow(bob, recorder).token(REMOTE_ADDR="10.9.8.7").status_code == 200


def test_the_user_limit_holds_across_addresses(client, user, recorder, settings):
    _throttle(settings, user="1/minute", ip="100/hour")
    client.force_login(user)
    flow = Flow(client, recorder)
    assert flow.token(REMOTE_ADDR="10.0.0.1").status_code == 200
    assert flow.token(REMOTE_ADDR="10.0.0.2").status_code == 429


def test_rate_windows_roll_over(rf, user, settings):
    _throttle(settings, user="1/minute")
    request = rf.post("/")
    request.user = user
    assert check_throttle(request, now=600.0) is None
    hit = check_throttle(request, now=630.0)
    assert hit is not None and hit.scope == "user" and hit.retry_after == 30
    assert check_throttle(request, now=660.0) is None


def test_bad_rates_are_a_clear_configuration_error():
    assert parse_rate("20/hour") == (20, 3600)
    with pytest.raises(BgcutConfigurationError, match="must look like '20/hour'"):
        parse_rate("lots")


def test_the_permission_callable_is_configurable(client, user, recorder, settings):
    settings.WAGTAIL_BGCUT = {
        **settings.WAGTAIL_BGCUT,
        "DIRECT_UPLOAD_PERMISSION": f"{__name__}.allow_staff_only",
    }
    client.force_login(user)
    flow = Flow(client, recorder)
    assert flow.token().status_code == 403
    user.is_staff = True
    user.save()
    assert flow.token().status_code == 200


def test_a_public_include_admits_visitors_and_binds_their_session(recorder):
    visitor, stranger = Client(), Client()
    flow = Flow(visitor, recorder, prefix="/public/upload")
    response = flow.token()
    assert response.status_code == 200
    assert response.json()["finalize_url"] == "/public/upload/finalize/"
    status, result = flow.process(ImageBytesFactory(squashed_ball=True, width=64, height=48))
    assert status == 200
    # Another visitor (another session) cannot finalize it.
    assert flow.finalize(result, client=stranger).status_code == 403
    assert flow.finalize(result).status_code == 200


def test_inactive_users_are_refused(client, user, recorder):
    user.is_active = False
    user.save()
    client.force_login(user)
    assert Flow(client, recorder).token().status_code == 403
