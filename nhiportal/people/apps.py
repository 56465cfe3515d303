from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "nhiportal.people"
    label = "people"
    verbose_name = "People and API tokens"
