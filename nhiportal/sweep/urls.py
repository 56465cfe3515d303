from django.urls import path

from . import views

app_name = "sweep"
urlpatterns = [
    path("", views.status, name="status"),
]
