"""API-wide behaviour: one error shape, who the client is, roles, per-client throttling, the schema.

Every error body is ``{"error": {"code": ..., "message": ..., "fields": {field: [messages]}}}``;
``fields`` is present for validation errors (400) and maps each bad field — or, for bulk requests,
``rows.<n>.<field>`` — to its messages. Codes used:

- 400 ``invalid`` (fields; also a string no UTF-8 can encode, such as a lone surrogate), ``parse_error``
  (malformed JSON, or nested deeper than ``asmcredit.parsers.MAX_DEPTH``)
- 401 ``not_authenticated`` / ``authentication_failed``; 403 ``permission_denied``; 404 ``not_found``
- 405 ``method_not_allowed``; 409 ``invalid_transition`` (illegal state change), ``conflict`` (a unique
  value already taken), ``idempotency_in_progress``; 413 ``request_too_large`` (a body over
  ``DATA_UPLOAD_MAX_MEMORY_SIZE``, 2.5 MB); 415 ``unsupported_media_type``
- 422 ``idempotency_key_reused`` (same Idempotency-Key, different request); 429 ``throttled``

Throttling (``asmcredit.throttling.ClientRateThrottle``): one bucket per client, ``API_THROTTLE_RATE``
requests (default 600 a minute); past it a 429 with ``Retry-After``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, models
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.fields import SkipField
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.relations import PKOnlyObject
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from asmcredit import roles
from asmcredit.errors import TransitionError

IDEMPOTENCY_HEADER = "Idempotency-Key"


# --- Errors -------------------------------------------------------------------------------------


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The request conflicts with the current state of the resource.")
    default_code = "conflict"


class UnprocessableEntity(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = _("The request cannot be processed.")
    default_code = "unprocessable"


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "request_too_large"


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" and prefix == "":
                name = "non_field_errors"
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    for k, v in _flatten(item, f"{prefix}.{index}" if prefix else str(index)).items():
                        out.setdefault(k, []).extend(v)
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def _convert(exc: Exception) -> Exception:
    """Domain and database exceptions → the API exception a client should see."""
    if isinstance(exc, TransitionError):
        return Conflict(detail=" ".join(str(m) for m in exc.messages), code="invalid_transition")
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    # Django's own size check (form and multipart bodies); ApiErrorMiddleware catches most earlier.
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    # Too many form fields or files (DATA_UPLOAD_MAX_NUMBER_FIELDS/FILES): a bad body, not a 500/HTML 400.
    if isinstance(exc, SuspiciousOperation):
        return exceptions.ParseError()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(detail=str(exc) or None)
    # A unique value taken by a concurrent request, caught by the database rather than the service.
    if isinstance(exc, IntegrityError):
        return Conflict(detail=_("A record with these values already exists."))
    if isinstance(exc, DataError):
        return exceptions.ValidationError(detail=[_("A value is out of range.")])
    return exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = _convert(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body: dict[str, Any] = {
            "code": "invalid",
            "message": str(_("The request has invalid fields.")),
            "fields": _flatten(exc.detail),
        }
        response.status_code = status.HTTP_400_BAD_REQUEST
    else:
        detail = getattr(exc, "detail", str(exc))
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        body = {"code": str(code), "message": str(detail)}
    response.data = {"error": body}
    return response


# --- Who is calling -------------------------------------------------------------------------------


def request_buyer(request: Request) -> Any:
    """The buyer company a request acts for, or None for the lender's staff.

    A buyer's API key always acts for its buyer; so does a login linked to a buyer (the ``buyer_link``
    of a user), so a buyer's staff signed in on the web can never reach the lender's side of the API.
    The kernel knows the buyer only by those two attributes, so it imports no app.
    """
    cached = getattr(request, "_asm_buyer", False)
    if cached is not False:
        return cached
    user: Any = request.user
    buyer = None
    if is_buyer_key(user):
        buyer = user.buyer
    elif user is not None and user.is_authenticated:
        # The reverse one-to-one from buyers.BuyerUser, read with its buyer in one query.
        link_model = user._meta.get_field("buyer_link").related_model
        link = link_model.objects.select_related("buyer").filter(user=user).first()
        buyer = link.buyer if link is not None else None
    request._asm_buyer = buyer  # type: ignore[attr-defined]
    return buyer


def is_buyer_key(user: Any) -> bool:
    """Whether the request's user is a buyer's API key (``buyers.authentication.BuyerPrincipal``)."""
    return bool(getattr(user, "is_buyer_key", False))


def for_requesting_buyer(queryset: Any, request: Request) -> Any:
    """``queryset`` (of rows with a ``buyer``) cut to the requesting buyer's own; staff see every row."""
    buyer = request_buyer(request)
    return queryset.filter(buyer=buyer) if buyer is not None else queryset


def client_key(request: Request) -> str:
    """``buyer:<id>`` or ``user:<id>``: the scope of idempotency keys and of the throttle."""
    buyer = request_buyer(request)
    if buyer is not None:
        return f"buyer:{buyer.pk}"
    return f"user:{request.user.pk}"


def path_id(value: Any) -> int:
    """An id from the URL path: digits that fit PostgreSQL's bigint, else a 404 in the error shape."""
    value = str(value or "")
    if not value.isdigit() or len(value) > 18:
        raise exceptions.NotFound()
    return int(value)


def path_object(model_or_queryset: Any, value: Any) -> Any:
    """The object a URL path names by id (``path_id``); a 404 in the error shape when there is none."""
    queryset = getattr(model_or_queryset, "objects", model_or_queryset)
    found = queryset.filter(pk=path_id(value)).first()
    if found is None:
        raise exceptions.NotFound()
    return found


def staff_actor(request: Request) -> Any:
    """The User to record as actor: the staff user, a buyer's linked login, or None for a buyer key."""
    return None if is_buyer_key(request.user) else request.user


def actor_for(request: Request) -> Any:
    """What services record as the actor: a User, or ``buyer-key:<ruc>:<name>`` for an API key."""
    if is_buyer_key(request.user):
        return str(request.user)
    return request.user


# --- Permissions --------------------------------------------------------------------------------

STAFF_WRITERS = (roles.LOAN_OFFICER, roles.LENDER_ADMIN)
ANY_STAFF = roles.ROLES


class ApiPermission(permissions.BasePermission):
    """Roles per view and action.

    - A buyer (API key or linked login) reaches only views with ``buyer_access``; those views filter
      every queryset by the buyer, so another buyer's object is a 404.
    - Lender staff need a role. Reads are open to every role (NGO analysts read, never change);
      writes need one of ``view.write_roles``, or ``view.action_roles[action]`` for custom actions.
    """

    message = _("Your role does not allow this.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        if request_buyer(request) is not None:
            return bool(getattr(view, "buyer_access", False))
        user_roles = roles.user_roles(user)
        if not user_roles:
            return False
        action = getattr(view, "action", None)
        action_roles = getattr(view, "action_roles", {})
        if action in action_roles:
            return bool(user_roles & set(action_roles[action]))
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(user_roles & set(getattr(view, "write_roles", STAFF_WRITERS)))


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 1000


# --- Schema -------------------------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors only: field (``rows.<n>.<field>`` in bulk requests) → messages.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def _error_example(name: str, code: str, message: str, fields: dict[str, list[str]] | None = None) -> OpenApiExample:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return OpenApiExample(name, value={"error": body}, response_only=True)


ERROR_RESPONSES: dict[int, OpenApiResponse] = {
    400: OpenApiResponse(
        ErrorSerializer,
        description="Invalid input: one entry per bad field.",
        examples=[
            _error_example(
                "Invalid fields",
                "invalid",
                "The request has invalid fields.",
                {"wet_tonnes": ["Ensure this value is greater than or equal to 0.001."]},
            ),
            _error_example(
                "Bulk row errors",
                "invalid",
                "The request has invalid fields.",
                {"rows.3.miner": ["This miner is not a supplier of this buyer."]},
            ),
        ],
    ),
    401: OpenApiResponse(
        ErrorSerializer,
        description="No or bad credentials (`Authorization: Api-Key <key>` or `Token <key>`).",
        examples=[_error_example("Unknown key", "authentication_failed", "Unknown API key.")],
    ),
    403: OpenApiResponse(
        ErrorSerializer,
        description="Authenticated, but the client's role does not allow this.",
        examples=[_error_example("Role", "permission_denied", "Your role does not allow this.")],
    ),
    404: OpenApiResponse(
        ErrorSerializer,
        description="No such object — or it belongs to another buyer.",
        examples=[_error_example("Not found", "not_found", "Not found.")],
    ),
    409: OpenApiResponse(
        ErrorSerializer,
        description="Illegal state change, a unique value already taken, or the same Idempotency-Key "
        "still being processed by a concurrent request.",
        examples=[
            _error_example(
                "In progress",
                "idempotency_in_progress",
                "A request with this Idempotency-Key is still being processed; retry shortly.",
            ),
            _error_example(
                "Transition", "invalid_transition", "Only a submitted application can be decided (it is draft)."
            ),
        ],
    ),
    413: OpenApiResponse(
        ErrorSerializer,
        description="The body is larger than the server accepts (``DATA_UPLOAD_MAX_MEMORY_SIZE``).",
        examples=[_error_example("Too large", "request_too_large", "The request body is larger than 2621440 bytes.")],
    ),
    415: OpenApiResponse(ErrorSerializer, description="Send `application/json`."),
    422: OpenApiResponse(
        ErrorSerializer,
        description="The Idempotency-Key was already used with a different request.",
        examples=[
            _error_example(
                "Key reused",
                "idempotency_key_reused",
                "Idempotency-Key 'abc' was first used with a different request body on POST /api/v1/settlements/.",
            )
        ],
    ),
    429: OpenApiResponse(
        ErrorSerializer,
        description="Too many requests from this client (per buyer or staff user); see Retry-After.",
        examples=[_error_example("Throttled", "throttled", "Request was throttled. Expected available in 12 seconds.")],
    ),
}
READ_ERRORS = (400, 401, 403, 404, 429)
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422, 429)

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string up to 255 visible ASCII characters. Retrying with the same key and "
    "body replays the first successful response (header `Idempotent-Replayed: true`) without doing the "
    "work twice; the same key with another body is a 422; while the first request is still running a "
    "retry gets 409. Keys are scoped to the client (buyer or staff user).",
)


class ApiSchema(AutoSchema):
    """Adds the shared error responses to every operation and the Idempotency-Key header to POSTs."""

    def get_override_parameters(self) -> list[Any]:
        params = list(super().get_override_parameters())
        if self.method == "POST":
            params.append(IDEMPOTENCY_PARAMETER)
        return params

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        codes = READ_ERRORS if self.method in ("GET", "HEAD") else WRITE_ERRORS
        for code in codes:
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    ERROR_RESPONSES[code], str(code), direction=direction
                )
        return responses


class ApiViewMixin:
    """What every v1 view shares: roles, pagination, the schema with errors."""

    permission_classes: Any = [ApiPermission]
    pagination_class: Any = Pagination
    schema: Any = ApiSchema()
    buyer_access = False
    write_roles: tuple[str, ...] = STAFF_WRITERS
    action_roles: dict[str, tuple[str, ...]] = {}

    def filter_queryset(self, queryset: Any) -> Any:
        # Filters narrow lists only; a detail URL names its object (isolation is in get_queryset).
        if getattr(self, "action", None) != "list":
            return queryset
        return super().filter_queryset(queryset)  # type: ignore[misc]


def model_save_audited(*, obj: Any, actor: Any, action: str, fields: dict[str, Any] | None = None) -> Any:
    """Master-data write (miner, buyer, product, relationship): apply ``fields``, validate the model
    (field validators, ``clean`` and constraints), save and audit in one transaction."""
    from django.db import transaction

    from asmcredit.audit import audit_record, snapshot

    with transaction.atomic():
        before = snapshot(obj) if obj.pk else None
        for name, value in (fields or {}).items():
            setattr(obj, name, value)
        obj.full_clean()
        obj.save()
        audit_record(actor=actor, action=action, obj=obj, before=before, after=snapshot(obj))
    return obj


EARLIEST_API_DATE = dt.date(2000, 1, 1)
LATEST_API_DATE = dt.date(2100, 12, 31)


class ApiDateField(serializers.DateField):
    """An ISO 8601 date within 2000-01-01 … 2100-12-31: far enough for any loan or settlement, and
    keeps date arithmetic (schedules, due dates) away from the calendar's edges."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", ["iso-8601"])
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> Any:
        day = super().to_internal_value(value)
        if not EARLIEST_API_DATE <= day <= LATEST_API_DATE:
            raise serializers.ValidationError(_("The date must be between 2000-01-01 and 2100-12-31."))
        return day


class BoundOnceRepresentation:
    """A read-only serializer's ``to_representation`` with its fields bound once per class.

    DRF deep-copies and binds every declared field for each serializer it makes, nested ones included;
    for the answer to one posted settlement that copying cost more than the rest of the rendering.
    Here one instance's bound fields are kept and reused: rendering only reads them, and a
    ``SerializerMethodField`` is called on the serializer at hand. For serializers whose fields do not
    read ``context`` (a request, say): the kept fields see the context of the instance that bound them.
    """

    def to_representation(self, instance: Any) -> dict[str, Any]:
        cls = type(self)
        fields: list[tuple[str, serializers.Field]] | None = cls.__dict__.get("_fields_bound_once")
        if fields is None:
            bound = cls().fields.items()  # type: ignore[attr-defined]
            fields = [(name, field) for name, field in bound if not field.write_only]
            cls._fields_bound_once = fields  # type: ignore[attr-defined]
        data: dict[str, Any] = {}
        for name, field in fields:
            if isinstance(field, serializers.SerializerMethodField):
                data[name] = getattr(self, field.method_name)(instance)
                continue
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            present = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            data[name] = None if present is None else field.to_representation(attribute)
        return data


class ApiModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose date fields are bounded ``ApiDateField``s."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateField: ApiDateField,
    }


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents ``Authorization: Api-Key <key>`` (buyer companies) in the OpenAPI schema."""

    target_class = "buyers.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Buyer companies: `Api-Key <key>` (issued with `manage.py create_api_key`).",
        }
