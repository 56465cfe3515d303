"""The portal's namespaced settings (settings.NHI), read at call time so tests can override."""

from django.conf import settings


def nhi_setting(name: str):
    return settings.NHI[name]
