from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "nhiportal.people"
    label = "people"
    verbose_name = "People and API tokens"

    def ready(self):
        # Registers the OpenAPI description of token authentication (drf-spectacular extension).
        from .api import schema  # noqa: F401
        from . import checks  # noqa: F401  (registers the sign-in settings check)
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in

        from .lockouts import on_user_locked_out
        from .sessions import note_sign_in
        from .sign_in_redirects import say_the_form_was_not_sent

        user_locked_out.connect(on_user_locked_out, dispatch_uid="people.audit_lockouts")
        user_logged_in.connect(note_sign_in, dispatch_uid="people.note_sign_in")
        user_logged_in.connect(say_the_form_was_not_sent, dispatch_uid="people.say_the_form_was_not_sent")
