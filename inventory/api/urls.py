# API routes are named "<thing>-<action>" and reversed as "api:<name>" (see nhiportal/urls.py).
urlpatterns = []
