"""People in Django admin (nhiportal/people/admin.py): records are for looking; the one write
offered, lifting a lockout, is audited (tests/nhiportal/test_admin.py)."""

import pytest
from axes.models import AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root-admin", "root@example.com", "correct-horse-battery-staple")


@pytest.mark.parametrize("model", [AccessLog, AccessFailureLog])
def test_the_sign_in_logs_cannot_be_deleted_in_the_admin_without_a_trace(model, superuser, client_for):
    row = model.objects.create(username="bob", ip_address="10.0.0.1", user_agent="curl", http_accept="*/*", path_info="/accounts/login/", attempt_time=timezone.now())
    client = client_for(superuser)
    info = (model._meta.app_label, model._meta.model_name)

    assert client.get(reverse("admin:%s_%s_changelist" % info)).status_code == 200
    assert client.post(reverse("admin:%s_%s_delete" % info, args=[row.pk]), {"post": "yes"}).status_code == 403
    changelist = client.post(reverse("admin:%s_%s_changelist" % info), {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"})
    assert changelist.status_code in (200, 302)
    assert model.objects.filter(pk=row.pk).exists()
