from django.urls import path

from tokens.views import placeholder

app_name = "policy"
urlpatterns = [
    path("", placeholder, name="version-list"),
    path("decisions/", placeholder, name="decision-list"),
    path("identities/<uuid:pk>/decisions-panel/", placeholder, name="identity-decisions-panel"),
]
