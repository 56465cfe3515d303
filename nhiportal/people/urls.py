from django.urls import path

from . import views

app_name = "people"
urlpatterns = [
    path("tokens/", views.token_list, name="token-list"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("sessions/", views.own_sessions, name="sessions"),
]
