from django.urls import path

from . import attestation_views, bulk, campaign_views, claim_views, import_views, people_views, views
from .lifecycle import ACTIVATE, REACTIVATE, SUSPEND

app_name = "inventory"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("identities/", views.identity_list, name="identity-list"),
    path("identities/search/", views.identity_search, name="identity-search"),
    path("people/", people_views.people_search, name="people-search"),
    path("people/owners/", views.owner_search, name="owner-search"),
    path("users/", people_views.person_list, name="person-list"),
    path("users/<int:pk>/", people_views.person_detail, name="person-detail"),
    path("users/<int:pk>/handover/", people_views.person_hand_over, name="person-handover"),
    path("users/<int:pk>/deactivate/", people_views.person_deactivate_view, name="person-deactivate"),
    path("users/<int:pk>/reactivate/", people_views.person_reactivate_view, name="person-reactivate"),
    path("users/<int:pk>/roles/", people_views.person_roles, name="person-roles"),
    path("users/<int:pk>/second-factor/reset/", people_views.person_second_factor_reset, name="person-second-factor-reset"),
    path("users/<int:pk>/sessions/end/", people_views.person_sessions_end_view, name="person-sessions-end"),
    path("campaigns/", campaign_views.campaign_list, name="campaign-list"),
    path("campaigns/new/", campaign_views.campaign_launch, name="campaign-launch"),
    path("campaigns/<int:pk>/", campaign_views.campaign_detail, name="campaign-detail"),
    path("campaigns/<int:pk>/close/", campaign_views.campaign_close, name="campaign-close"),
    path("campaigns/<int:pk>/stop-repeating/", campaign_views.campaign_stop_repeating, name="campaign-stop-repeating"),
    path("campaigns/<int:pk>/export.csv", campaign_views.campaign_export, name="campaign-export"),
    path("attestations/", attestation_views.attestation_list, name="attestation-list"),
    path("attestations/confirm/", attestation_views.attestations_confirm, name="attestations-confirm"),
    path("attestations/<int:pk>/", attestation_views.attestation_detail, name="attestation-detail"),
    path("claims/", claim_views.claim_list, name="claim-list"),
    path("claims/orphaned/", claim_views.orphaned_list, name="claim-orphaned"),
    path("claims/<int:pk>/", claim_views.claim_detail, name="claim-detail"),
    path("identities/<uuid:pk>/claim/", claim_views.claim_create, name="claim-create"),
    path("identities/export.csv", views.identity_export, name="identity-export"),
    path("identities/bulk/suspend/", views.identity_bulk, {"action": SUSPEND}, name="identity-bulk-suspend"),
    path("identities/bulk/reactivate/", views.identity_bulk, {"action": REACTIVATE}, name="identity-bulk-reactivate"),
    path("identities/bulk/owners/", views.identity_bulk, {"action": bulk.OWNERS}, name="identity-bulk-owners"),
    path("identities/new/", views.identity_register, name="identity-register"),
    path("identities/import/", import_views.identity_import, name="identity-import"),
    path("identities/import/template.csv", import_views.identity_import_template, name="identity-import-template"),
    path("identities/<uuid:pk>/", views.identity_detail, name="identity-detail"),
    path("identities/<uuid:pk>/edit/", views.identity_edit, name="identity-edit"),
    path("identities/<uuid:pk>/owners/", views.identity_owners, name="identity-owners"),
    path("identities/<uuid:pk>/activate/", views.identity_transition, {"action": ACTIVATE}, name="identity-activate"),
    path("identities/<uuid:pk>/suspend/", views.identity_transition, {"action": SUSPEND}, name="identity-suspend"),
    path(
        "identities/<uuid:pk>/reactivate/", views.identity_transition, {"action": REACTIVATE}, name="identity-reactivate"
    ),
    path("identities/<uuid:pk>/offboard/", views.identity_offboard, name="identity-offboard"),
    path("identities/<uuid:pk>/attest/", views.identity_attest, name="identity-attest"),
]
