from django.urls import path

from . import views

app_name = "tokens"
urlpatterns = [
    path("services/", views.placeholder, name="service-list"),
    path("grants/", views.placeholder, name="grant-list"),
    path("keys/", views.placeholder, name="key-list"),
    path("trust-domains/", views.placeholder, name="trustdomain-list"),
    # Panels the identity page loads with htmx (inventory does not import tokens).
    path("identities/<uuid:pk>/credentials-panel/", views.placeholder, name="identity-credentials-panel"),
    path("identities/<uuid:pk>/access-panel/", views.placeholder, name="identity-access-panel"),
]
