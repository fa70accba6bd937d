"""An editor whose Wagtail profile asks for French gets the package's admin screens in French."""

from __future__ import annotations

import pytest
from django.urls import reverse
from wagtail.users.models import UserProfile

from tests.factories import UserFactory

# The catalog uses the typographic apostrophe, as French typesetting does.
APOSTROPHE = "\u2019"


@pytest.fixture
def french_admin(db, client):
    user = UserFactory(username="amelie", superuser=True)
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = "fr"
    profile.save()
    client.force_login(user)
    return client


def test_status_page_is_in_french(french_admin):
    html = french_admin.get(reverse("wagtail_bgcut:status")).content.decode()
    assert "Aucun détourage en échec." in html
    assert f"Rien n{APOSTROPHE}est en attente." in html
    assert "No failed cut-outs." not in html


def test_remove_background_page_is_in_french(french_admin, root_collection):
    from tests.factories import WagtailImageFactory

    image = WagtailImageFactory(title="Balle", collection=root_collection, data__ball=True)
    html = french_admin.get(reverse("wagtail_bgcut:remove_background", args=[image.pk])).content
    html = html.decode()
    # No cut-out exists yet: the page offers to make one, in French.
    assert "Pas encore de détourage pour ce préréglage." in html
    assert "Arrière-plan supprimé" in html
    assert f"Supprimer l{APOSTROPHE}arrière-plan" in html
    assert "No cut-out yet for this preset." not in html
