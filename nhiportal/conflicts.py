"""A service's refusal because of where something stands, not because of what was sent."""

from django.core.exceptions import ValidationError


class StateConflict(ValidationError):
    """The object's state refuses the action: decided already, closed, no longer waiting,
    dismissed, ended, revoked already. The same request could only succeed after that state
    changed, so the API answers 409 (nhiportal/api.py) where bad input is a 400.

    A ValidationError, so the pages and forms that show a service's refusal next to the form
    (nhiportal/service_forms.py) show this one as before. Raised like one: a message, or a dict
    naming the field the page shows it next to."""
