# API routes are named "<thing>-<action>" and reversed as "api:<name>" (see nhiportal/urls.py).
from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import PolicyDecisionViewSet, PolicyVersionViewSet, SimulateView

# SimpleRouter: every app includes its own router at the same prefix, so none may add a root view.
router = SimpleRouter(use_regex_path=False)
router.register("policy-versions", PolicyVersionViewSet, basename="policyversion")
router.register("policy-decisions", PolicyDecisionViewSet, basename="policydecision")
urlpatterns = [
    *router.urls,
    path("policy-simulate/", SimulateView.as_view(), name="policy-simulate"),
]
