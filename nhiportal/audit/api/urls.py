# API routes are named "<thing>-<action>" and reversed as "api:<name>" (see nhiportal/urls.py).
from rest_framework.routers import SimpleRouter

from .views import AuditEventViewSet

router = SimpleRouter(use_regex_path=False)
router.register("audit-events", AuditEventViewSet, basename="audit-event")
urlpatterns = router.urls
