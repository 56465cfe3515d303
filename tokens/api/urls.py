# API routes are named "<thing>-<action>" and reversed as "api:<name>" (see nhiportal/urls.py).
from django.urls import path
from rest_framework.routers import SimpleRouter

from .access_reviews import AccessReviewViewSet
from .federation import FederatedIssuerViewSet
from .issued_tokens import IssuedTokenViewSet
from .source_networks import SourceNetworkViewSet
from .views import (
    AccessRequestViewSet,
    CredentialViewSet,
    DelegationViewSet,
    EmergencyRevoke,
    ExposureViewSet,
    GrantViewSet,
    IdentityActivity,
    IdentityBlastRadius,
    ServiceViewSet,
    SigningKeyViewSet,
    TaskViewSet,
    TrustDomainViewSet,
    UnusedIdentityList,
)

router = SimpleRouter(use_regex_path=False)
router.register("services", ServiceViewSet, basename="service")
router.register("trust-domains", TrustDomainViewSet, basename="trust-domain")
router.register("federated-issuers", FederatedIssuerViewSet, basename="federated-issuer")
router.register("grants", GrantViewSet, basename="grant")
router.register("credentials", CredentialViewSet, basename="credential")
router.register("tasks", TaskViewSet, basename="task")
router.register("tokens", IssuedTokenViewSet, basename="issued-token")
router.register("delegations", DelegationViewSet, basename="delegation")
router.register("exposures", ExposureViewSet, basename="exposure")
router.register("source-networks", SourceNetworkViewSet, basename="source-network")
router.register("signing-keys", SigningKeyViewSet, basename="signing-key")
router.register("access-requests", AccessRequestViewSet, basename="access-request")
router.register("access-reviews", AccessReviewViewSet, basename="access-review")
urlpatterns = [
    *router.urls,
    path("emergency-revoke/", EmergencyRevoke.as_view(), name="emergency-revoke"),
    path("identities/unused/", UnusedIdentityList.as_view(), name="identity-unused"),
    path("identities/<uuid:pk>/activity/", IdentityActivity.as_view(), name="identity-activity"),
    path("identities/<uuid:pk>/blast-radius/", IdentityBlastRadius.as_view(), name="identity-blast-radius"),
]
