"""Tells the OpenAPI schema how personal API tokens authenticate, so Swagger UI offers them."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "nhiportal.people.authentication.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (nhip_...) created at /accounts/tokens/.",
        }
