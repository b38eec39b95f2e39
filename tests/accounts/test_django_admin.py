"""The Django admin has every model, and only Pulse admins get in."""

import pytest
from django.apps import apps
from django.contrib import admin


def _our_models():
    return [model for model in apps.get_app_config("accounts").get_models()]


def test_every_model_is_registered():
    missing = [model.__name__ for model in _our_models() if not admin.site.is_registered(model)]
    assert missing == []


# Records Pulse alone writes: the suppression list (only the person lifts an opt-out), erasures, the
# audit log of changes to people and teams, which session each login opened, and ARR history.
READ_ONLY = {"SuppressedAddress", "ContactErasure", "AuditEntry", "LoginSession", "ArrChange"}


@pytest.mark.parametrize("model", _our_models(), ids=lambda model: model.__name__)
def test_admin_lists_and_adds_for_admins_only(adam, maria, login, model):
    url = f"/admin/accounts/{model._meta.model_name}/"
    assert login(adam).get(url).status_code == 200
    assert login(adam).get(url + "add/").status_code == (403 if model.__name__ in READ_ONLY else 200)
    response = login(maria).get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
