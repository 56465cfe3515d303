import gc
import os

from django.core.wsgi import get_wsgi_application

from nhiportal.conf import refuse_misconfiguration

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nhiportal.settings.production")
application = get_wsgi_application()

from nhiportal.api import parameters_taken  # noqa: E402 (needs the apps loaded)

# A settings mistake `manage.py check` reports (single sign-on half set up, an unknown role...)
# stops the worker before it serves anything, with the check's message.
refuse_misconfiguration()

# What each API operation takes (nhiportal/api.py) is read from the OpenAPI description,
# which takes a second or more to build: built here, as the worker starts, rather than by its
# first API call.
parameters_taken()

# Everything loaded so far (Django and the apps, models and settings) lives as long as the
# process: freezing it keeps the cyclic garbage collector from walking it again on every
# collection, which otherwise runs every few requests on the token endpoint.
gc.freeze()
