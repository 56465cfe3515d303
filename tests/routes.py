"""Every URL route the portal serves, as written in its urlconf, with its view."""

from django.urls import get_resolver


def all_routes() -> list[tuple[str, object]]:
    """(route, view) for each route: "/identities/<uuid:pk>/" and the like."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns, route)
            else:
                yield "/" + route, pattern.callback

    return list(walk(get_resolver().url_patterns))
