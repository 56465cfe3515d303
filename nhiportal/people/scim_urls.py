"""SCIM 2.0 for the directory, under /scim/v2/ (resource and endpoint names as RFC 7644 spells them)."""

from django.urls import path

from . import scim_views

urlpatterns = [
    path("Users", scim_views.users, name="scim-users"),
    path("Users/<str:pk>", scim_views.user, name="scim-user"),
    path("Groups", scim_views.groups, name="scim-groups"),
    path("Groups/<str:pk>", scim_views.group, name="scim-group"),
    path("ServiceProviderConfig", scim_views.service_provider_config, name="scim-service-provider-config"),
    path("ResourceTypes", scim_views.resource_types, name="scim-resource-types"),
    path("ResourceTypes/<str:name>", scim_views.resource_types, name="scim-resource-type"),
    path("Schemas", scim_views.schemas, name="scim-schemas"),
    path("Schemas/<str:uri>", scim_views.schemas, name="scim-schema"),
]
