# API routes are named "<thing>-<action>" and reversed as "api:<name>" (see nhiportal/urls.py).
from rest_framework.routers import SimpleRouter

from .attestations import AttestationViewSet
from .people import PersonViewSet
from .views import CampaignViewSet, ClaimViewSet, IdentityViewSet

# SimpleRouter: every app includes its own router at the same prefix, so none may add a root view.
router = SimpleRouter(use_regex_path=False)
router.register("identities", IdentityViewSet, basename="identity")
router.register("claims", ClaimViewSet, basename="claim")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("attestations", AttestationViewSet, basename="attestation")
router.register("people", PersonViewSet, basename="person")
urlpatterns = router.urls
