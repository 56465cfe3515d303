"""Django admin: every registered model opens for a superuser, read-only, and for nobody else."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from inventory.services import identity_activate


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root-admin", "root@example.com", "correct-horse-battery-staple")


def changelists():
    return [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in admin.site._registry]


def test_it_opens_every_changelist_and_change_page_for_a_superuser(superuser, client_for, alice, make_identity):
    identity = make_identity(alice)
    identity_activate(actor=alice, identity=identity)
    client = client_for(superuser)
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        assert client.get(reverse("admin:%s_%s_changelist" % info)).status_code == 200, info
        obj = model._default_manager.first()
        if obj is not None:
            assert client.get(reverse("admin:%s_%s_change" % info, args=[obj.pk])).status_code == 200, info


def test_it_offers_no_add_for_the_portal_models(superuser, client_for):
    client = client_for(superuser)
    for model in admin.site._registry:
        if model._meta.app_label in {"inventory", "tokens", "policy", "audit", "people", "compliance"}:
            info = (model._meta.app_label, model._meta.model_name)
            assert client.get(reverse("admin:%s_%s_add" % info)).status_code == 403, info


def test_it_keeps_people_without_staff_status_out(client_for, sam, charlie):
    for person in (sam, charlie):
        response = client_for(person).get(changelists()[0])
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_people_roles_and_api_tokens_change_only_in_the_portal_where_it_is_audited(superuser, client_for, charlie, bob):
    from nhiportal.people.models import PersonalAPIToken
    from nhiportal.people.services import api_token_create

    token, _ = api_token_create(user=bob, name="ci", days=30)
    client = client_for(superuser)
    person = client.get(reverse("admin:auth_user_change", args=[charlie.pk]))
    assert person.status_code == 200 and b"pbkdf2" not in person.content and b'name="groups"' not in person.content
    assert client.post(reverse("admin:auth_user_change", args=[charlie.pk]), {"is_superuser": "on"}).status_code == 403
    assert client.post(reverse("admin:auth_user_delete", args=[charlie.pk]), {"post": "yes"}).status_code == 403
    assert client.post(reverse("admin:people_personalapitoken_delete", args=[token.pk]), {"post": "yes"}).status_code == 403
    assert PersonalAPIToken.objects.filter(pk=token.pk).exists() and not get_user_model().objects.get(pk=charlie.pk).is_superuser


def test_lifting_a_lockout_in_the_admin_is_audited(superuser, client_for, bob, settings, audit_actions_during):
    from axes.models import AccessAttempt

    attempt = AccessAttempt.objects.create(
        username=bob.username, ip_address="10.0.0.9", user_agent="x", failures_since_start=settings.AXES_FAILURE_LIMIT,
        get_data="", post_data="", http_accept="", path_info="/accounts/login/",
    )
    client = client_for(superuser)
    response, actions = audit_actions_during(
        lambda: client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    )
    assert response.status_code == 302 and not AccessAttempt.objects.exists()
    assert actions == ["person.lockout_lifted"]
