"""Reads for people: their personal API tokens."""

from django.db.models import QuerySet

from .models import PersonalAPIToken


def api_tokens_of(user) -> QuerySet:
    """A person's own tokens, newest first. Nobody else's: other people's tokens are a 404."""
    return PersonalAPIToken.objects.filter(user=user).order_by("-created_at", "-id")
