from rest_framework.routers import SimpleRouter

from .api import WebhookViewSet

router = SimpleRouter(use_regex_path=False)
router.register("webhooks", WebhookViewSet, basename="webhook")
urlpatterns = router.urls
