from django.urls import path

from . import access_request_views, approval_views, export_views, exposure_views, identity_views, views

app_name = "tokens"
urlpatterns = [
    path("services/", views.service_list, name="service-list"),
    path("services/new/", views.service_create, name="service-create"),
    path("services/<int:pk>/", views.service_detail, name="service-detail"),
    path("services/<int:pk>/edit/", views.service_edit, name="service-edit"),
    path("grants/", views.grant_list, name="grant-list"),
    path("grants/unused-card/", views.unused_access_card, name="unused-access-card"),
    path("grants/unused/remove/", views.unused_scopes_remove, name="unused-scopes-remove"),
    path("keys/rotation-card/", views.key_rotation_card, name="key-rotation-card"),
    path("grants/export.csv", export_views.grant_export, name="grant-export"),
    path("grants/new/", views.grant_create, name="grant-create"),
    path("grants/<int:pk>/revoke/", views.grant_revoke, name="grant-revoke"),
    path("grants/<int:pk>/reduce/", views.grant_reduce, name="grant-reduce"),
    path("access-requests/", access_request_views.access_request_list, name="access-request-list"),
    path("access-requests/export.csv", export_views.access_request_export, name="access-request-export"),
    path("access-requests/new/", access_request_views.access_request_create, name="access-request-create"),
    path("access-requests/<int:pk>/", access_request_views.access_request_detail, name="access-request-detail"),
    path("approvals/", approval_views.approval_list, name="approval-list"),
    path("approvals/<uuid:pk>/", approval_views.approval_detail, name="approval-detail"),
    path("exposures/", exposure_views.exposure_list, name="exposure-list"),
    path("exposures/report/", exposure_views.exposure_report, name="exposure-report"),
    path("exposures/<int:pk>/", exposure_views.exposure_detail, name="exposure-detail"),
    path("keys/", views.key_list, name="key-list"),
    path("keys/rotate/", views.key_rotate, name="key-rotate"),
    path("keys/<str:kid>/compromised/", views.key_compromised, name="key-compromised"),
    path("emergency-revoke/", views.emergency_revoke, name="emergency-revoke"),
    path("trust-domains/", views.trustdomain_list, name="trustdomain-list"),
    path("trust-domains/new/", views.trustdomain_create, name="trustdomain-create"),
    path("trust-domains/<int:pk>/", views.trustdomain_edit, name="trustdomain-edit"),
    # Panels the identity page loads with htmx (inventory does not import tokens), and their actions.
    path("identities/<uuid:pk>/credentials-panel/", identity_views.credentials_panel, name="identity-credentials-panel"),
    path("identities/<uuid:pk>/access-panel/", identity_views.access_panel, name="identity-access-panel"),
    path("identities/<uuid:pk>/credentials/new-key/", identity_views.credential_add_key, name="credential-add-key"),
    path("identities/<uuid:pk>/credentials/new-spiffe/", identity_views.credential_add_spiffe_id, name="credential-add-spiffe"),
    path(
        "identities/<uuid:pk>/credentials/<int:credential_pk>/disable/",
        identity_views.credential_disable_view,
        name="credential-disable",
    ),
    path(
        "identities/<uuid:pk>/credentials/<int:credential_pk>/exposed/",
        exposure_views.credential_exposed,
        name="credential-exposed",
    ),
    path("identities/<uuid:pk>/tasks/<uuid:task_pk>/end/", identity_views.task_end_view, name="task-end"),
    path("identities/<uuid:pk>/delegations/new/", identity_views.delegation_add, name="delegation-add"),
    path(
        "identities/<uuid:pk>/delegations/<int:delegation_pk>/revoke/",
        identity_views.delegation_revoke_view,
        name="delegation-revoke",
    ),
    path("identities/<uuid:pk>/tokens/<int:token_pk>/revoke/", identity_views.token_revoke_view, name="token-revoke"),
]
