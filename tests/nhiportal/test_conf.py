"""nhiportal/conf.py: the portal's settings read through nhi_setting follow the settings."""

from nhiportal.conf import nhi_setting


def test_a_setting_assigned_anew_is_read_at_once(settings):
    before = nhi_setting("PAGE_SIZE")
    settings.NHI = {**settings.NHI, "PAGE_SIZE": before + 7}
    assert nhi_setting("PAGE_SIZE") == before + 7


def test_a_setting_changed_in_place_is_read_at_once(settings):
    settings.NHI = {**settings.NHI}  # a copy this test may change
    settings.NHI["PAGE_SIZE"] = 3
    assert nhi_setting("PAGE_SIZE") == 3
