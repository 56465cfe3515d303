from django.urls import path

from . import views

app_name = "compliance"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("controls/<slug:control_id>/", views.control_detail, name="control-detail"),
    path("frameworks/", views.framework_list, name="framework-list"),
    path("export.csv", views.export, {"fmt": "csv"}, name="export-csv"),
    path("export.json", views.export, {"fmt": "json"}, name="export-json"),
    path("export.oscal.json", views.export, {"fmt": "oscal.json"}, name="export-oscal"),
    path("history.csv", views.history_export, name="history-csv"),
    path("evidence-pack.zip", views.evidence_pack_download, name="evidence-pack"),
    path("exposures.csv", views.record_export, {"record": "exposures"}, name="exposure-export"),
    path("task-approvals.csv", views.record_export, {"record": "task-approvals"}, name="task-approval-export"),
    path("ownership-claims.csv", views.record_export, {"record": "ownership-claims"}, name="ownership-claim-export"),
    path("attestation-reviews.csv", views.record_export, {"record": "attestation-reviews"}, name="attestation-review-export"),
]
