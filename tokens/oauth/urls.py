"""OAuth endpoints, at the site root: discovery, JWKS, token, introspection, revocation, task end, status lists."""

from django.urls import path

from . import introspection, metadata, revocation, status, token

app_name = "oauth"
urlpatterns = [
    path(".well-known/oauth-authorization-server", metadata.authorization_server_metadata, name="metadata"),
    path("oauth/jwks.json", metadata.jwks, name="jwks"),
    path("oauth/token", token.token, name="token"),
    path("oauth/introspect", introspection.introspection, name="introspect"),
    path("oauth/revoke", revocation.revoke, name="revoke"),
    path("oauth/task/end", revocation.end_task, name="task-end"),
    path("oauth/status", status.status_list_aggregation, name="status-lists"),
    path("oauth/status/<int:number>", status.status_list_token, name="status-list"),
]
