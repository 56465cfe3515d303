"""The people API, the same gate and services as the people pages: reviewers, compliance and
security admins read (403 otherwise); security admins hand over, deactivate, reactivate, end
sessions and set roles, never their own (403)."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from nhiportal.api import JSONParser, QuerySerializer, TakesOnlyItsFields, TakesOnlyItsParameters, valid
from nhiportal.people.ending_sessions import open_sessions_of, person_sessions_end
from nhiportal.people.roles import ALL_ROLES
from nhiportal.people.second_factor import has_second_factor, second_factor_remove
from nhiportal.people.selectors import directory_entry_of, sso_link_of
from nhiportal.people.services import person_deactivate, person_reactivate, person_roles_set

from .. import people
from ..handover import ownerships_hand_over


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="get_full_name")
    email = serializers.CharField()
    is_active = serializers.BooleanField()
    roles = serializers.SerializerMethodField()
    last_login = serializers.DateTimeField(allow_null=True)
    primary_count = serializers.IntegerField(help_text="Identities in service they own as primary owner.")
    backup_count = serializers.IntegerField(help_text="Identities in service they own as a backup owner.")

    def get_roles(self, person) -> list[str]:
        return people.role_names(person)


class OwnedIdentitySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    status = serializers.CharField()
    role = serializers.CharField(source="my_role")
    other_active_owner = serializers.BooleanField(source="others_active")


class SignInSerializer(serializers.Serializer):
    single_sign_on = serializers.BooleanField(help_text="They have signed in through the configured identity provider.")
    password = serializers.BooleanField(help_text="They have a password to sign in with.")
    second_factor = serializers.BooleanField(help_text="An authenticator app guards their password sign-in.")
    kept_by_directory = serializers.BooleanField(help_text="The directory provisions them over SCIM.")
    open_sessions = serializers.IntegerField(help_text="Browsers signed in as them now.")


class PersonDetailSerializer(PersonSerializer):
    owns = serializers.SerializerMethodField()
    sign_in = serializers.SerializerMethodField()

    @extend_schema_field(SignInSerializer)
    def get_sign_in(self, person):
        entry = directory_entry_of(person)
        return SignInSerializer({
            "single_sign_on": sso_link_of(person) is not None, "password": person.has_usable_password(),
            "second_factor": has_second_factor(person), "kept_by_directory": entry is not None and entry.deleted_at is None,
            "open_sessions": open_sessions_of(person).count(),
        }).data

    @extend_schema_field(OwnedIdentitySerializer(many=True))
    def get_owns(self, person):
        return OwnedIdentitySerializer(people.owned_identities(person), many=True).data


class PeopleQuerySerializer(QuerySerializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)
    role = serializers.ChoiceField(
        choices=people.ROLE_FILTERS, required=False, help_text="A role, or decides_access: reviewers and security admins.",
    )
    state = serializers.ChoiceField(choices=people.STATES, required=False, default="active")
    sign_in = serializers.ChoiceField(choices=list(people.SIGN_INS), required=False, help_text="How they sign in: sso, second_factor or password_alone.")
    owns = serializers.ChoiceField(choices=list(people.YES_NO), required=False, help_text="true: owners (primary or backup) of identities in service.")
    kept = serializers.ChoiceField(
        choices=list(people.YES_NO), required=False, help_text="true: kept by the directory (linked through single sign-on or provisioned by SCIM).",
    )


class HandOverSerializer(TakesOnlyItsFields, serializers.Serializer):
    successor = serializers.IntegerField(
        help_text="The id of the active person who takes over; with the owner or security admin role if they own identities."
    )
    reason = serializers.CharField(max_length=200)


class PersonReasonSerializer(TakesOnlyItsFields, serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class OptionalPersonReasonSerializer(TakesOnlyItsFields, serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RolesSerializer(TakesOnlyItsFields, serializers.Serializer):
    roles = serializers.ListField(child=serializers.ChoiceField(choices=ALL_ROLES), allow_empty=True)


class SessionsEndedSerializer(serializers.Serializer):
    sessions_ended = serializers.IntegerField(help_text="How many browser sessions ended (0: none was open).")
    api_tokens_revoked = serializers.IntegerField(help_text="How many of their portal API tokens made in those sessions were revoked.")


class DeactivatedSerializer(PersonSerializer):
    api_tokens_revoked = serializers.IntegerField(help_text="How many of their portal API tokens were revoked (every live one).")


class HandedOverSerializer(serializers.Serializer):
    identities = serializers.IntegerField()
    services = serializers.IntegerField()


# The actions that change a person: security admins', never on themselves.
_CHANGES = frozenset({"handover", "deactivate", "reactivate", "second_factor_reset", "sessions_end", "roles"})


@extend_schema(tags=["people"])
class PersonViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """People, their roles and what they own; a leaver's ownership handed over, their account ended."""

    lookup_value_converter = "int"
    parser_classes = [JSONParser]
    filter_backends = []

    # Who may act is asked in DRF's own checks, which run before a query parameter is read
    # (TakesOnlyItsParameters): a refused caller gets the same 403 with or without one.
    def check_permissions(self, request):
        super().check_permissions(request)
        if not people.may_see_people(request.user):
            raise PermissionDenied("Reviewers, compliance and security admins see people.")
        if self.action in _CHANGES and not people.may_manage_people(request.user):
            raise PermissionDenied("Only security admins change people.")

    def check_object_permissions(self, request, person):
        super().check_object_permissions(request, person)
        if self.action in _CHANGES and person.pk == request.user.pk:
            raise PermissionDenied("Another security admin changes you.")

    def get_serializer_class(self):
        return PersonDetailSerializer if self.action == "retrieve" else PersonSerializer

    def get_queryset(self):
        query = valid(PeopleQuerySerializer, self.request.query_params) if self.action == "list" else {"state": "all"}
        return people.directory(
            q=query.get("q", ""), role=query.get("role", ""), state=query["state"], sign_in=query.get("sign_in", ""),
            owns=query.get("owns", ""), kept=query.get("kept", ""),
        )

    @extend_schema(parameters=[PeopleQuerySerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="Hand what they own over to a successor", request=HandOverSerializer, responses=HandedOverSerializer)
    @action(detail=True, methods=["post"])
    def handover(self, request, pk=None):
        leaver = self.get_object()
        data = valid(HandOverSerializer, request.data)
        # An unknown id is the service's "choose an active person" (400), as an inactive one is.
        successor = get_user_model().objects.filter(pk=data["successor"]).first()
        moved = ownerships_hand_over(actor=request.user, leaver=leaver, successor=successor, reason=data["reason"])
        return Response({"identities": moved["identities"], "services": moved.get("services", 0)})

    @extend_schema(summary="Deactivate: their sessions end, no more sign-in; their API tokens are revoked", request=PersonReasonSerializer,
                   responses={200: DeactivatedSerializer, 409: OpenApiResponse(description="They are inactive already.")})
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        person = self.get_object()
        reason = valid(PersonReasonSerializer, request.data)["reason"]
        _, revoked = people.with_api_tokens_revoked(
            lambda: person_deactivate(person=person, actor=request.user, reason=reason), person=person, action=people.DEACTIVATED,
        )
        deactivated = self.get_object()
        deactivated.api_tokens_revoked = revoked
        return Response(DeactivatedSerializer(deactivated).data)

    @extend_schema(summary="Reactivate", request=OptionalPersonReasonSerializer,
                   responses={200: PersonSerializer, 409: OpenApiResponse(description="They are active already.")})
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        person = self.get_object()
        person_reactivate(person=person, actor=request.user, reason=valid(OptionalPersonReasonSerializer, request.data)["reason"])
        return Response(PersonSerializer(self.get_object()).data)

    @extend_schema(summary="Reset a lost second factor: they sign in with their password, then set up a new app",
                   request=PersonReasonSerializer,
                   responses={200: PersonDetailSerializer, 409: OpenApiResponse(description="They have no second factor to reset.")})
    @action(detail=True, methods=["post"], url_path="second-factor/reset")
    def second_factor_reset(self, request, pk=None):
        person = self.get_object()
        second_factor_remove(person=person, actor=request.user, reason=valid(PersonReasonSerializer, request.data)["reason"])
        return Response(PersonDetailSerializer(self.get_object()).data)

    @extend_schema(summary="End all their browser sessions, and revoke the API tokens made in them: they sign in again (unless deactivated)",
                   request=PersonReasonSerializer, responses=SessionsEndedSerializer)
    @action(detail=True, methods=["post"], url_path="sessions/end")
    def sessions_end(self, request, pk=None):
        person = self.get_object()
        reason = valid(PersonReasonSerializer, request.data)["reason"]
        ended, revoked = people.with_api_tokens_revoked(
            lambda: person_sessions_end(person=person, actor=request.user, reason=reason), person=person, action=people.SESSIONS_ENDED,
        )
        return Response(SessionsEndedSerializer({"sessions_ended": ended, "api_tokens_revoked": revoked}).data)

    @extend_schema(summary="Set their roles", request=RolesSerializer, responses=PersonSerializer)
    @action(detail=True, methods=["put"])
    def roles(self, request, pk=None):
        person = self.get_object()
        person_roles_set(person=person, roles=valid(RolesSerializer, request.data)["roles"], actor=request.user)
        return Response(PersonSerializer(self.get_object()).data)
