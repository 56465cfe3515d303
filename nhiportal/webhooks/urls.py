from django.urls import path

from . import views

app_name = "webhooks"
urlpatterns = [
    path("", views.endpoint_list, name="endpoint-list"),
    path("new/", views.endpoint_new, name="endpoint-new"),
    path("<int:pk>/", views.endpoint_detail, name="endpoint-detail"),
    path("<int:pk>/rotate-secret/", views.endpoint_rotate, name="endpoint-rotate"),
    path("<int:pk>/test/", views.endpoint_test, name="endpoint-test"),
    path("<int:pk>/delete/", views.endpoint_remove, name="endpoint-delete"),
    path("<int:pk>/deliveries/", views.delivery_list, name="delivery-list"),
    path("<int:pk>/deliveries/<int:delivery_pk>/", views.delivery_detail, name="delivery-detail"),
    path("<int:pk>/deliveries/<int:delivery_pk>/redeliver/", views.redeliver, name="delivery-redeliver"),
]
