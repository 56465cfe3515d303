"""SCIM 2.0 (RFC 7644) for the organisation's directory: Okta, Entra ID and others create,
update and deactivate people here, and push the groups that can decide their roles. Base URL
/scim/v2/; the provider authenticates with a security admin's directory sync token
(Authorization: Bearer nhip_...)."""

import functools
import json
import logging
import uuid

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError as PayloadError
from scim2_models import (
    Context,
    Error,
    Group,
    ListResponse,
    NotFoundException,
    PatchOp,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
    SearchRequest,
)

from nhiportal import json_input
from nhiportal.ids import as_id

from . import scim, scim_groups
from .authentication import record_use
from .directory_groups import DisplayNameTaken, directory_group_create, directory_group_delete, directory_group_update
from .directory_sync import UsernameTaken, directory_person_create, directory_person_delete, directory_person_update
from .models import TOKEN_PREFIX, DirectoryGroup, PersonalAPIToken, TokenPurpose, hash_api_token
from .roles import is_security_admin
from .second_factor import TOKEN_LACKS_SECOND_FACTOR, token_lacks_second_factor

logger = logging.getLogger(__name__)
CONTENT_TYPE = "application/scim+json"


def _respond(payload: dict | None, status: int = 200, location: str | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(payload) if payload is not None else b"", status=status, content_type=CONTENT_TYPE)
    if location:
        response["Location"] = location
    return response


def _error(status: int, detail: str, scim_type: str | None = None) -> HttpResponse:
    response = _respond(Error(status=status, scim_type=scim_type, detail=detail).model_dump(), status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="scim"'
    return response


def _directory_token(request):
    """The usable directory sync token the request carries, or an error response."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw.startswith(TOKEN_PREFIX):
        return None, _error(401, "Send a directory sync token: Authorization: Bearer nhip_...")
    token = PersonalAPIToken.objects.select_related("user").filter(token_hash=hash_api_token(raw)).first()
    if token is None or not token.is_usable:
        return None, _error(401, "Invalid, expired or revoked token.")
    if token.purpose != TokenPurpose.DIRECTORY_SYNC:
        return None, _error(403, "This token is for the REST API; create a directory sync token for SCIM.")
    if not is_security_admin(token.user):
        # Checked at every call: a token outlives nobody's right to use it.
        return None, _error(403, "The token's person is no longer a security admin.")
    if token_lacks_second_factor(token):
        return None, _error(401, TOKEN_LACKS_SECOND_FACTOR)
    record_use(token)
    return token, None


def scim_endpoint(view):
    """Authenticate the directory, and answer every failure as a SCIM error (RFC 7644 3.12)."""

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        token, refusal = _directory_token(request)
        if refusal is not None:
            return refusal
        try:
            return view(request, token, *args, **kwargs)
        except SCIMException as exc:
            error = exc.to_error()
            return _respond(error.model_dump(), int(error.status))
        except PayloadError as exc:
            error = Error.from_validation_errors(exc)[0]
            return _respond(error.model_dump(), int(error.status))
        except _NotJSON:
            return _error(400, "The body is not a JSON object.", "invalidSyntax")
        except (UsernameTaken, DisplayNameTaken) as exc:
            return _error(409, str(exc), "uniqueness")
        except DirectoryGroup.DoesNotExist:
            # Deleted by another request between this one's read and its write.
            return _error(404, "The Group is gone.")
        except ValidationError as exc:
            messages = [f"{field}: {'; '.join(errs)}" for field, errs in exc.message_dict.items()] if hasattr(exc, "error_dict") else exc.messages
            return _error(400, " ".join(messages), "invalidValue")

    return wrapper


class _NotJSON(ValueError):
    pass


def _body(request) -> dict:
    try:
        data = json_input.loads(request.body or b"null")
    except ValueError:
        raise _NotJSON from None
    if not isinstance(data, dict):
        raise _NotJSON
    return data


def _location(request, person) -> str:
    return request.build_absolute_uri(reverse("scim-user", args=[person.pk]))


def _user_response(request, person, status: int = 200) -> HttpResponse:
    location = _location(request, person)
    payload = scim.as_scim_user(person, location).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    return _respond(payload, status, location)


def _person(pk: str):
    person = scim.people_matching(None).filter(pk=as_id(pk)).first() if as_id(pk) is not None else None
    if person is None:
        raise NotFoundException(detail=f"No User {pk}.")
    return person


def _method_not_allowed() -> HttpResponse:
    return _error(405, "Method not allowed.")


def _page(query: SearchRequest, found) -> tuple[int, list]:
    """The page a search asks for (startIndex counts from 1; at most MAX_RESULTS), and where it starts."""
    # Past the last row nothing is found; past a 64-bit offset the database cannot be asked.
    start = min(max(query.start_index or 1, 1), 2**62)
    count = min(scim.MAX_RESULTS if query.count is None else max(query.count, 0), scim.MAX_RESULTS)
    return start, (list(found[start - 1:start - 1 + count]) if count else [])


@scim_endpoint
def users(request, token):
    if request.method == "GET":
        query = SearchRequest.model_validate(request.GET.dict(), scim_ctx=Context.SEARCH_REQUEST)
        people = scim.people_matching(query.filter)
        start, page = _page(query, people)
        listing = ListResponse[scim.ScimUser](
            total_results=people.count(), start_index=start, items_per_page=len(page),
            resources=[scim.as_scim_user(person, _location(request, person)) for person in page] or None,
        )
        return _respond(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE))
    if request.method == "POST":
        user = scim.ScimUser.model_validate(_body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        person = directory_person_create(token=token, fields=scim.person_fields(user))
        return _user_response(request, person, 201)
    return _method_not_allowed()


@scim_endpoint
def user(request, token, pk):
    person = _person(pk)
    if request.method == "GET":
        return _user_response(request, person)
    if request.method == "PUT":
        replacement = scim.ScimUser.model_validate(_body(request), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        person = directory_person_update(token=token, person=person, fields=scim.person_fields(replacement))
        return _user_response(request, person)
    if request.method == "PATCH":
        patch = PatchOp[scim.ScimUser].model_validate(_body(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        current = scim.as_scim_user(person, _location(request, person))
        patch.patch(current)
        person = directory_person_update(token=token, person=person, fields=scim.person_fields(current))
        return _user_response(request, person)
    if request.method == "DELETE":
        directory_person_delete(token=token, person=person)
        return _respond(None, 204)
    return _method_not_allowed()


def _group_location(request, group) -> str:
    return request.build_absolute_uri(reverse("scim-group", args=[group.scim_id]))


def _members_shown(parameters: ResponseParameters) -> bool:
    # Okta and Entra ID send excludedAttributes=members: a large group is then not read at all.
    return not any(str(path).lower() == "members" for path in parameters.excluded_attributes or [])


def _scim_group(request, group, parameters: ResponseParameters) -> Group:
    return scim_groups.as_scim_group(
        group, location=_group_location(request, group), members=_members_shown(parameters),
        user_location=lambda person: _location(request, person),
    )


def _response_parameters(request) -> ResponseParameters:
    """attributes or excludedAttributes (RFC 7644 section 3.9), and no other query parameter:
    a GET, POST or PUT of one Group takes nothing else, and need not fail on it."""
    wanted = {key: request.GET[key] for key in ("attributes", "excludedAttributes") if key in request.GET}
    return ResponseParameters[Group].model_validate(wanted)


def _group_response(request, group, parameters: ResponseParameters, status: int = 200) -> HttpResponse:
    if _members_shown(parameters):
        group = scim_groups.with_members(DirectoryGroup.objects.filter(pk=group.pk)).get()
    payload = _scim_group(request, group, parameters).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=parameters)
    return _respond(payload, status, _group_location(request, group))


def _group(pk: str) -> DirectoryGroup:
    try:
        group = scim_groups.groups_matching(None).filter(scim_id=uuid.UUID(pk)).first()
    except ValueError:  # not a UUID: no group has that id
        group = None
    if group is None:
        raise NotFoundException(detail=f"No Group {pk}.")
    return group


@scim_endpoint
def groups(request, token):
    if request.method == "GET":
        query = SearchRequest[Group].model_validate(request.GET.dict(), scim_ctx=Context.SEARCH_REQUEST)
        found = scim_groups.groups_matching(query.filter)
        start, page = _page(query, scim_groups.with_members(found) if _members_shown(query) else found)
        listing = ListResponse[Group](
            total_results=found.count(), start_index=start, items_per_page=len(page),
            resources=[_scim_group(request, group, query) for group in page] or None,
        )
        return _respond(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=query))
    if request.method == "POST":
        parameters = _response_parameters(request)
        wanted = Group.model_validate(_body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        group = directory_group_create(token=token, fields=scim_groups.group_fields(wanted))
        return _group_response(request, group, parameters, 201)
    return _method_not_allowed()


@scim_endpoint
def group(request, token, pk):
    parameters = _response_parameters(request)
    found = _group(pk)
    if request.method == "GET":
        return _group_response(request, found, parameters)
    if request.method == "PUT":
        replacement = Group.model_validate(_body(request), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        fields = scim_groups.group_fields(replacement)
        updated = directory_group_update(token=token, group=found, wanted=lambda current: fields)
        return _group_response(request, updated, parameters)
    if request.method == "PATCH":
        patch = PatchOp[Group].model_validate(_body(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=scim_groups.ENTRA_ID)
        # Applied to the group as it stands once locked, not as read above (directory_group_update).
        directory_group_update(token=token, group=found, wanted=lambda current: scim_groups.patched_fields(current, patch))
        # 204, as Okta's and Entra ID's guides show: a membership change does not send back a large group.
        return _respond(None, 204)
    if request.method == "DELETE":
        directory_group_delete(token=token, group=found)
        return _respond(None, 204)
    return _method_not_allowed()


@scim_endpoint
def service_provider_config(request, token):
    return _respond(scim.service_provider_config().model_dump())


def _discovery(model, documents: list, wanted: str | None) -> HttpResponse:
    """A discovery listing (RFC 7644 section 4), or the one document its id names."""
    if wanted is None:
        listing = ListResponse[model](total_results=len(documents), start_index=1, items_per_page=len(documents), resources=documents)
        return _respond(listing.model_dump())
    found = next((document for document in documents if document.id == wanted), None)
    if found is None:
        raise NotFoundException(detail=f"No {model.__name__} {wanted}.")
    return _respond(found.model_dump())


@scim_endpoint
def resource_types(request, token, name=None):
    return _discovery(ResourceType, scim.resource_types(), name)


@scim_endpoint
def schemas(request, token, uri=None):
    return _discovery(Schema, scim.schemas(), uri)
