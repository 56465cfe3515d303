from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from nhiportal.api import no_endpoint
from nhiportal.compliance.api import ComplianceAssessment, ComplianceOscal
from nhiportal.health import healthz
from nhiportal.metrics import metrics
from nhiportal.pages import favicon
from nhiportal.people import second_factor_views
from nhiportal.people.views import PasswordChangeView
from nhiportal.people.sign_in_views import SignInView, admin_sign_in, sso_callback, sso_start
from nhiportal.people.sign_out_views import SignOutView, sso_backchannel_logout
from nhiportal.sweep.api import SweepStatus

api_v1 = [
    path("", include("inventory.api.urls")),
    path("", include("nhiportal.audit.api.urls")),
    path("", include("nhiportal.people.api.urls")),
    path("", include("nhiportal.webhooks.api_urls")),
    path("", include("tokens.api.urls")),
    path("", include("tokens.policy.api.urls")),
    path("compliance/", ComplianceAssessment.as_view(), name="compliance"),
    path("compliance/oscal/", ComplianceOscal.as_view(), name="compliance-oscal"),
    path("sweep/", SweepStatus.as_view(), name="sweep"),
]

admin.site.login = admin_sign_in
handler404 = "nhiportal.api.not_found"

urlpatterns = [
    # First: Django tries patterns in order, and agents and services call these far more often
    # than people open pages (each include tried before costs a regex walk per request).
    path("", include("tokens.oauth.urls")),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("scim/v2/", include("nhiportal.people.scim_urls")),
    path("accounts/sso/backchannel-logout/", sso_backchannel_logout, name="sso-backchannel-logout"),
    path("", include("inventory.urls")),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/sso/", sso_start, name="sso-start"),
    path("accounts/login/code/", second_factor_views.second_factor_verify, name="second-factor-verify"),
    path("accounts/second-factor/", second_factor_views.second_factor_page, name="second-factor"),
    path("accounts/second-factor/qr.svg", second_factor_views.second_factor_qr, name="second-factor-qr"),
    path("accounts/second-factor/remove/", second_factor_views.second_factor_remove_view, name="second-factor-remove"),
    path("accounts/sso/callback/", sso_callback, name="sso-callback"),
    path("accounts/logout/", SignOutView.as_view(), name="logout"),
    path("accounts/password/", PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/", include("nhiportal.people.urls")),
    path("audit/", include("nhiportal.audit.urls")),
    path("compliance/", include("nhiportal.compliance.urls")),
    path("sweep/", include("nhiportal.sweep.urls")),
    path("webhooks/", include("nhiportal.webhooks.urls")),
    path("", include("tokens.urls")),
    path("policy/", include("tokens.policy.urls")),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's init script as a file: the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Last under /api/: the JSON 404 for a path that names no endpoint, also with DEBUG on.
    re_path(r"^api/(?P<rest>.*)$", no_endpoint),
    path("admin/", admin.site.urls),
    path("favicon.ico", favicon, name="favicon"),
]
