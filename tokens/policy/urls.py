from django.urls import path

from . import views

app_name = "policy"
urlpatterns = [
    path("", views.version_list, name="version-list"),
    path("versions/new/", views.version_create, name="version-create"),
    path("versions/<int:number>/", views.version_detail, name="version-detail"),
    path("versions/<int:number>/activate/", views.version_activate, name="version-activate"),
    path("versions/<int:number>/mode/", views.version_mode, name="version-mode"),
    path("versions/<int:number>/replay/", views.version_replay, name="version-replay"),
    path("compare/", views.version_diff, name="version-diff"),
    path("simulator/", views.simulator, name="simulator"),
    path("decisions/", views.decision_list, name="decision-list"),
    path("decisions/export.csv", views.decision_export, name="decision-export"),
    path("decisions/<int:pk>/", views.decision_detail, name="decision-detail"),
    path("identities/<uuid:pk>/decisions-panel/", views.identity_decisions_panel, name="identity-decisions-panel"),
]
