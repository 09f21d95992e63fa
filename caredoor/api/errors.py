"""One error body for the whole API, and the handlers that produce it.

Every error answers ``{"detail": "<one sentence>"}``; validation errors add ``errors``, one
entry per problem, each with the ``field`` it concerns (``null``: the request as a whole),
the ``message`` and a machine-readable ``code``:

- 401 not signed in, 403 no role here or CSRF check failed, 404 missing *or* forbidden
  object (the two look alike), 400 unparsable JSON, 415 a body that is not JSON;
- 422 bad input: a request that does not match its schema, or an action's
  ``ValidationError`` (nothing was written either way);
- 409 ``SlotTaken`` (``alternatives``: the next free times) and ``SeriesConflicts``
  (``occurrences``: every occurrence with its conflict).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import ValidationError as SchemaValidationError

from caredoor.core.booking.errors import SeriesConflicts, SlotTaken

NON_FIELD = "__all__"
# Where a schema error sits (ninja's prefix), dropped from the field path.
SOURCES = {"body", "query", "path", "form", "header", "cookie", "file"}
PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


class FieldError(Schema):
    field: str | None
    message: str
    code: str | None = None


class ErrorOut(Schema):
    detail: str
    errors: list[FieldError] = []


class SlotOut(Schema):
    start: datetime
    end: datetime


class SlotTakenOut(Schema):
    detail: str
    alternatives: list[SlotOut]


class OccurrenceOut(Schema):
    index: int
    start: datetime | None  # UTC; null when the local time does not exist that day
    end: datetime | None
    local_start: str  # the intended wall-clock start in the specialist's zone (no offset)
    time_zone: str
    ok: bool
    conflict: str
    conflicting_booking: int | None = None


class SeriesConflictsOut(Schema):
    detail: str
    occurrences: list[OccurrenceOut]


def utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def series_conflicts_body(exc: SeriesConflicts, time_zone: str) -> SeriesConflictsOut:
    """The 409 body of a series with conflicts (the endpoints know the specialist's zone)."""
    return SeriesConflictsOut(
        detail=str(exc.message),
        occurrences=[occurrence_out(o, time_zone) for o in exc.occurrences],
    )


def occurrence_out(occurrence: Any, time_zone: str) -> OccurrenceOut:
    return OccurrenceOut(
        index=occurrence.index,
        start=utc(occurrence.start),
        end=utc(occurrence.end),
        local_start=occurrence.local.isoformat(timespec="minutes"),
        time_zone=time_zone,
        ok=occurrence.ok,
        conflict=occurrence.conflict,
        conflicting_booking=occurrence.conflicting_booking,
    )


def field_errors(error: DjangoValidationError) -> list[FieldError]:
    if hasattr(error, "error_dict"):
        return [
            FieldError(
                field=None if field == NON_FIELD else field,
                message=str(message),
                code=item.code,
            )
            for field, items in error.error_dict.items()
            for item in items
            for message in item.messages
        ]
    return [
        FieldError(field=None, message=str(message), code=item.code)
        for item in error.error_list
        for message in item.messages
    ]


def schema_errors(errors: list[dict[str, Any]]) -> list[FieldError]:
    result = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in SOURCES:
            loc = loc[1:]
        if loc and loc[0] == "payload":  # the body parameter's own name
            loc = loc[1:]
        message = str(error.get("msg", ""))
        for prefix in PYDANTIC_PREFIXES:
            message = message.removeprefix(prefix)
        result.append(
            FieldError(field=".".join(loc) or None, message=message, code=error.get("type"))
        )
    return result


def error_body(errors: list[FieldError]) -> dict[str, Any]:
    first = errors[0] if errors else None
    if first is None:
        detail = _("The request is not valid.")
    elif first.field:
        detail = f"{first.field}: {first.message}"
    else:
        detail = first.message
    return {"detail": detail, "errors": [e.model_dump() for e in errors]}


def install(api: NinjaAPI) -> None:
    """Register the handlers on ``api`` (after ninja's defaults, which they replace)."""

    def on_schema_error(request: HttpRequest, exc: SchemaValidationError) -> HttpResponse:
        return api.create_response(request, error_body(schema_errors(exc.errors)), status=422)

    def on_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return api.create_response(request, error_body(field_errors(exc)), status=422)

    def on_slot_taken(request: HttpRequest, exc: SlotTaken) -> HttpResponse:
        body = SlotTakenOut(
            detail=str(exc.message),
            alternatives=[SlotOut(start=utc(s.start), end=utc(s.end)) for s in exc.alternatives],
        )
        return api.create_response(request, body.model_dump(), status=409)

    def on_form_body(request: HttpRequest, exc: RawPostDataException) -> HttpResponse:
        # A multipart POST: the CSRF check has read it as a form, and it is not JSON anyway.
        return api.create_response(
            request,
            {"detail": _("Send the body as JSON (Content-Type: application/json)."), "errors": []},
            status=415,
        )

    api.add_exception_handler(SchemaValidationError, on_schema_error)
    api.add_exception_handler(RawPostDataException, on_form_body)
    api.add_exception_handler(DjangoValidationError, on_validation_error)
    api.add_exception_handler(SlotTaken, on_slot_taken)
