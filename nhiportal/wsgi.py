import gc
import os

from django.core.wsgi import get_wsgi_application

from nhiportal.conf import refuse_misconfiguration

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nhiportal.settings.production")
application = get_wsgi_application()

# A settings mistake `manage.py check` reports (single sign-on half set up, an unknown role...)
# stops the worker before it serves anything, with the check's message.
refuse_misconfiguration()

# Everything loaded so far (Django and the apps, models and settings) lives as long as the
# process: freezing it keeps the cyclic garbage collector from walking it again on every
# collection, which otherwise runs every few requests on the token endpoint.
gc.freeze()
