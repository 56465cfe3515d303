from django.core.checks import Error, register

from nhiportal.conf import nhi_setting


@register()
def signing_key_max_age(app_configs, **kwargs):
    """A key rotated at under a day's age would rotate on every sweep: refuse to start."""
    if nhi_setting("SIGNING_KEY_MAX_AGE_DAYS") < 1:
        return [Error("NHI_SIGNING_KEY_MAX_AGE_DAYS must be at least 1 (days).", id="sweep.E001")]
    return []
