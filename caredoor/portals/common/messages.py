"""Conversations in the patient, specialist and organization portals: one implementation,
parametrized by portal (``urls(portal)``), like the notification pages.

Every view is a ``portal_view``; every thread is looked up through
``messaging.queries.access_thread`` (the reader's own side in this portal on this brand,
404 for everyone else), every message through ``access_message`` in that thread. State
changes go through ``messaging.actions``. The pages work without JavaScript (plain forms,
redirects, a confirmation step for deleting); ``messages.js`` (docs/realtime.md) drives
the same markup live and uses the JSON answers of ``thread_post`` and ``thread_poll``.

POSTs to a thread are checked in this order: the portal and the thread (404), the request
size (``POST_MAX_BYTES``, answered before the body is parsed), then CSRF. That is why the
thread's POST routes are exempt from the CSRF middleware, which would parse the body
first, and call ``_refused`` themselves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caredoor.core.accounts.policy import Capability, Portal
from caredoor.core.care.queries import access_patient_relationship, access_specialist_relationship
from caredoor.core.compliance.uploads import IMAGE_TYPES, file_response
from caredoor.core.messaging import actions, notify, queries, reach
from caredoor.core.messaging.downloads import do_record_download
from caredoor.core.messaging.models import Message, MessageKind, Side, Thread, ThreadKind
from caredoor.core.messaging.text import BODY_MAX
from caredoor.core.messaging.wire import body_of, for_reader, message_payload
from caredoor.core.notifications import presence
from caredoor.core.notifications.links import portal_path
from caredoor.core.specialists.queries import own_profile, public_name
from caredoor.core.video.actions import call_path
from caredoor.core.video.models import Room
from caredoor.core.video.queries import joinable_now
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.common.messages_sidebar import sidebar_for

PAGE_SIZE = 50  # messages on the thread page; "Earlier messages" pages back by id
THREADS_PER_PAGE = 30
CHOOSER_LIMIT = 50
# A post may carry one attachment and a short text; anything larger is refused before
# its body is read. Other POSTs (read, edit, delete) carry a few fields only.
POST_MAX_BYTES = actions.ATTACHMENT_MAX_BYTES + 64 * 1024
SMALL_POST_MAX_BYTES = 64 * 1024
ACCEPT_TYPES = ",".join(sorted(actions.ATTACHMENT_TYPES))

_csrf = CsrfViewMiddleware(lambda request: HttpResponse())


# --- small helpers -----------------------------------------------------------------------


def _brand(ctx: PortalContext) -> Any:
    """Conversations belong to a brand: the operator console on the platform host has none."""
    if ctx.brand is None:
        raise Http404
    return ctx.brand


def _thread(request: HttpRequest, ctx: PortalContext, thread_id: int) -> Thread:
    return queries.access_thread(request.user, _brand(ctx), ctx.portal, thread_id)


def _side(ctx: PortalContext) -> str:
    return queries.PORTAL_SIDE[ctx.portal]


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _thread_url(ctx: PortalContext, thread: Thread) -> str:
    return reverse(f"{ctx.portal}:thread", args=[thread.pk])


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _limit() -> str:
    """The attachment limit as the upload checks word it ("10 MB")."""
    return _("%(number)s MB") % {"number": actions.ATTACHMENT_MAX_BYTES // (1024 * 1024)}


def attachment_limit_text() -> str:
    return _("PDF, PNG, JPEG or WebP, up to %(size)s.") % {"size": _limit()}


def _too_large_text() -> str:
    return _(
        "This message is too large to send. An attachment can be at most %(size)s; "
        "send a smaller file or split it."
    ) % {"size": _limit()}


def _body_too_long_text() -> str:
    return _("This message is too long: a message can hold at most %(max)d characters.") % {
        "max": BODY_MAX
    }


def _oversize(request: HttpRequest, limit: int) -> str:
    """The field to blame when the request is too large to read ("" when it is fine):
    the declared length is checked before anything is read, then the form is parsed
    (Django refuses form fields beyond ``DATA_UPLOAD_MAX_MEMORY_SIZE``)."""
    if _content_length(request) > limit:
        return "attachment"
    try:
        request.POST  # noqa: B018 -- parse now, within the limit
    except RequestDataTooBig:
        return "body"
    return ""


def _oversize_errors(field: str) -> dict[str, list[str]]:
    if field == "attachment":
        return {"attachment": [_too_large_text()]}
    return {"body": [_body_too_long_text()]}


def _refused(request: HttpRequest, limit: int) -> HttpResponse | None:
    """For the small POSTs (read, edit, delete): the size check, then the CSRF check the
    middleware was told to skip. None when the POST may go on."""
    field = _oversize(request, limit)
    if field:
        errors = _oversize_errors(field)
        if _wants_json(request):
            return JsonResponse({"ok": False, "errors": errors}, status=400)
        return HttpResponse(
            next(iter(errors.values()))[0], status=413, content_type="text/plain; charset=utf-8"
        )
    return _csrf.process_view(request, None, (), {})


def reader_zone(request: HttpRequest, ctx: PortalContext, thread: Thread | None = None) -> str:
    """The zone times are shown in: the request's (the person's, else the brand's), and
    for a specialist with a zone on their profile, that one (their calendar's)."""
    if ctx.portal == Portal.SPECIALIST:
        if thread is not None and thread.profile_id and thread.profile.user_id == request.user.pk:
            profile = thread.profile
        else:
            profile = own_profile(request.user, ctx.membership.network_id)
        if profile is not None and profile.time_zone:
            return profile.time_zone
    return timezone.get_current_timezone_name()


# --- what a line of the conversation shows -----------------------------------------------


@dataclass
class Line:
    id: int
    kind: str
    mine: bool
    sender: str
    created: datetime
    edited: datetime | None
    deleted: datetime | None
    purged: bool
    body_html: str
    attachment: dict[str, Any] | None
    attachment_url: str
    is_image: bool
    event_text: str
    event_url: str
    read: bool
    new: bool
    can_edit: bool
    can_delete: bool
    edit_url: str
    delete_url: str
    text: str = ""  # the plain text, for the author's own edit form only

    @property
    def removed(self) -> bool:
        return self.deleted is not None or self.purged


def _line(
    message: Message, ctx: PortalContext, user: Any, *, read_upto: int, seen_upto: int
) -> Line:
    payload = for_reader(message_payload(message), user_id=user.pk, portal=ctx.portal)
    now = timezone.now()
    own_text = (
        payload["mine"]
        and message.kind == MessageKind.TEXT
        and message.deleted_at is None
        and message.purged_at is None
    )
    args = [message.thread_id, message.pk]
    attachment = payload["attachment"]
    can_edit = own_text and now - message.created_at <= actions.EDIT_WINDOW
    return Line(
        id=message.pk,
        kind=message.kind,
        mine=payload["mine"],
        sender=payload["sender_name"],
        created=message.created_at,
        edited=message.edited_at,
        deleted=message.deleted_at,
        purged=message.purged_at is not None,
        body_html=payload["body_html"],
        attachment=attachment,
        attachment_url=reverse(f"{ctx.portal}:attachment", args=args) if attachment else "",
        is_image=bool(attachment and attachment["type"] in IMAGE_TYPES),
        event_text=payload.get("event_text", ""),
        event_url=payload.get("event_url", ""),
        read=payload["mine"] and message.pk <= read_upto,
        new=not payload["mine"] and message.pk > seen_upto and message.kind == MessageKind.TEXT,
        can_edit=can_edit,
        can_delete=own_text and now - message.created_at <= actions.DELETE_WINDOW,
        edit_url=reverse(f"{ctx.portal}:message_edit", args=args),
        delete_url=reverse(f"{ctx.portal}:message_delete", args=args),
        text=body_of(message) if can_edit else "",
    )


def _url_pattern(ctx: PortalContext, name: str, thread: Thread) -> str:
    """A message URL with ``{id}`` where the message id goes (for messages.js)."""
    url = reverse(f"{ctx.portal}:{name}", args=[thread.pk, 1])
    head, _sep, tail = url.rpartition("/1/")
    return f"{head}/{{id}}/{tail}"


# --- the thread list ---------------------------------------------------------------------


@dataclass
class ThreadRow:
    thread: Thread
    name: str
    role: str
    activity: datetime
    unread: int
    closed: bool
    url: str


def _role_label(thread: Thread, side: str) -> str:
    """Who the other party is, in a word."""
    if thread.kind == ThreadKind.STAFF and side != Side.STAFF:
        return str(Side.STAFF.label)
    if side == Side.PATIENT:
        return str(Side.SPECIALIST.label)
    if side == Side.SPECIALIST:
        return str(Side.PATIENT.label)
    return str(Side.PATIENT.label if thread.patient_id else Side.SPECIALIST.label)


def may_start_staff_threads(ctx: PortalContext) -> bool:
    organization = getattr(ctx.membership, "organization", None)
    return (
        ctx.portal == Portal.ORGANIZATION
        and ctx.can(Capability.MESSAGE_PEOPLE)
        and organization is not None
        and organization.kind in queries.MESSAGING_ORG_KINDS
    )


@require_GET
def thread_list(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    brand = _brand(ctx)
    side = _side(ctx)
    threads = (
        queries.with_unread(
            queries.threads_for(request.user, brand, ctx.portal, ctx.membership), request.user
        )
        .annotate(activity=Coalesce("last_message_at", "created_at"))
        .order_by(F("activity").desc(), "-pk")
    )
    page = Paginator(threads, THREADS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        ThreadRow(
            thread=t,
            name=queries.counterpart_name(t, side),
            role=_role_label(t, side),
            activity=t.activity,
            unread=t.unread,
            closed=not queries.has_active_care(t),
            url=_thread_url(ctx, t),
        )
        for t in page.object_list
    ]
    with timezone.override(reader_zone(request, ctx)):
        return render(
            request,
            "common/messages/list.html",
            {
                "ctx": ctx,
                "page": page,
                "rows": rows,
                "can_start": may_start_staff_threads(ctx),
                "employer": ctx.portal == Portal.ORGANIZATION and not may_start_staff_threads(ctx),
            },
        )


# --- the thread page ---------------------------------------------------------------------


def video_url(thread: Thread, ctx: PortalContext, *, closed: bool) -> str:
    """Where "Join the video session" leads in the pair's conversation: a booked session
    whose room is open now (its join page in this portal), else the pair's open ad-hoc
    call while their care lasts; "" when there is none. Care threads of the two people
    only; who may enter is still the room's rule."""
    if thread.kind != ThreadKind.CARE or ctx.portal not in (Portal.PATIENT, Portal.SPECIALIST):
        return ""
    found = joinable_now(thread.brand, thread.patient_id, thread.profile_id, timezone.now())
    if found is None:
        return ""
    if isinstance(found, Room):
        return "" if closed else call_path(ctx.portal, found)
    return portal_path(ctx.portal, "join", found.pk)


def _int_param(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _render_thread(
    request: HttpRequest,
    ctx: PortalContext,
    thread: Thread,
    *,
    before: int | None = None,
    errors: dict[str, list[str]] | None = None,
    body: str = "",
    status: int = 200,
    seen_upto: int | None = None,
) -> HttpResponse:
    user = request.user
    zone = reader_zone(request, ctx, thread)
    side = _side(ctx)
    with timezone.override(zone):
        messages = queries.latest_messages(thread, before=before, limit=PAGE_SIZE + 1)
        has_earlier = len(messages) > PAGE_SIZE
        messages = messages[-PAGE_SIZE:]
        for message in messages:
            message.thread = thread  # one thread object for every line: no query per line
        read_upto = queries.others_read_upto(thread, user)
        seen = seen_upto if seen_upto is not None else _read_position(thread, user)
        lines = [_line(m, ctx, user, read_upto=read_upto, seen_upto=seen) for m in messages]
        closed = not queries.has_active_care(thread)
        url = _thread_url(ctx, thread)
        context = {
            "ctx": ctx,
            "thread": thread,
            "name": queries.counterpart_name(thread, side),
            "role": _role_label(thread, side),
            "lines": lines,
            "has_earlier": has_earlier,
            "earlier_url": f"{url}?before={lines[0].id}" if has_earlier and lines else "",
            "latest_url": url if before else "",
            # The live script resumes after the newest line shown (on an earlier page too:
            # it then fetches what came after, without gaps).
            "last_id": lines[-1].id if lines else 0,
            "read_upto": read_upto,
            "zone": zone,
            "closed": closed,
            "video_url": video_url(thread, ctx, closed=closed),
            "sidebar": sidebar_for(thread, ctx.portal, ctx.membership, back_url=url),
            "errors": errors or {},
            "body": body,
            "client_token": uuid.uuid4().hex,
            "body_max": BODY_MAX,
            "accept_types": ACCEPT_TYPES,
            "attachment_help": attachment_limit_text(),
            "post_url": reverse(f"{ctx.portal}:thread_post", args=[thread.pk]),
            "poll_url": reverse(f"{ctx.portal}:thread_poll", args=[thread.pk]),
            "read_url": reverse(f"{ctx.portal}:thread_read", args=[thread.pk]),
            "attachment_pattern": _url_pattern(ctx, "attachment", thread),
            "edit_pattern": _url_pattern(ctx, "message_edit", thread),
            "delete_pattern": _url_pattern(ctx, "message_delete", thread),
            "list_url": reverse(f"{ctx.portal}:messages"),
        }
        return render(request, "common/messages/thread.html", context, status=status)


def _read_position(thread: Thread, user: Any) -> int:
    return thread.reads.filter(user=user).values_list("last_read_id", flat=True).first() or 0


@require_GET
def thread_page(request: HttpRequest, ctx: PortalContext, thread_id: int) -> HttpResponse:
    thread = _thread(request, ctx, thread_id)
    before = _int_param(request.GET.get("before"))
    seen = _read_position(thread, request.user)
    if before is None:
        # Opening the conversation reads it, and the notifications that pointed here.
        actions.do_mark_read(thread, request.user)
        notify.read_notifications(request.user, thread.pk, ctx.portal, thread.brand)
    return _render_thread(request, ctx, thread, before=before, seen_upto=seen)


# --- posting -----------------------------------------------------------------------------


def _errors_of(error: ValidationError) -> dict[str, list[str]]:
    if getattr(error, "code", None) == "closed" or not hasattr(error, "error_dict"):
        return {"body": list(error.messages)}
    return {
        ("body" if key == "__all__" else key): list(messages)
        for key, messages in error.message_dict.items()
    }


def thread_post(request: HttpRequest, ctx: PortalContext, thread_id: int) -> HttpResponse:
    thread = _thread(request, ctx, thread_id)
    field = _oversize(request, POST_MAX_BYTES)
    if field:
        return _post_failed(request, ctx, thread, _oversize_errors(field), status=413)
    csrf_failure = _csrf.process_view(request, None, (), {})
    if csrf_failure is not None:
        return csrf_failure
    body = request.POST.get("body", "")
    try:
        message = actions.do_post(
            thread,
            sender=request.user,
            side=_side(ctx),
            body=body,
            upload=request.FILES.get("attachment"),
            client_token=request.POST.get("client_token", ""),
        )
    except ValidationError as error:
        return _post_failed(request, ctx, thread, _errors_of(error), body=body)
    if _wants_json(request):
        message.thread = thread
        with timezone.override(reader_zone(request, ctx, thread)):
            payload = for_reader(
                message_payload(message), user_id=request.user.pk, portal=ctx.portal
            )
        return JsonResponse({"ok": True, "message": payload})
    return redirect(f"{_thread_url(ctx, thread)}#m-{message.pk}")


def _post_failed(
    request: HttpRequest,
    ctx: PortalContext,
    thread: Thread,
    errors: dict[str, list[str]],
    *,
    body: str = "",
    status: int = 400,
) -> HttpResponse:
    """Nothing was stored: field errors as JSON (status 400, the live script's contract),
    or the thread page again with the errors beside the fields and the text kept."""
    if _wants_json(request):
        return JsonResponse({"ok": False, "errors": errors}, status=400)
    return _render_thread(request, ctx, thread, errors=errors, body=body, status=status)


# --- polling (when WebSockets are blocked) and read positions ----------------------------


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = parse_datetime(value.replace(" ", "+"))
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment


@require_GET
def thread_poll(request: HttpRequest, ctx: PortalContext, thread_id: int) -> HttpResponse:
    thread = _thread(request, ctx, thread_id)
    try:
        after = max(0, int(request.GET.get("after") or 0))
    except ValueError:
        return JsonResponse({"ok": False, "error": "bad_request"}, status=400)
    since = _since(request.GET.get("since"))
    now = timezone.now()
    presence.touch(request.user.pk)  # a polling page is as present as a socket
    with timezone.override(reader_zone(request, ctx, thread)):
        fresh = queries.messages_after(thread, after)
        changed = queries.changed_since(thread, after, since) if since else []
        for message in [*fresh, *changed]:
            message.thread = thread

        def out(message: Message) -> dict[str, Any]:
            return for_reader(message_payload(message), user_id=request.user.pk, portal=ctx.portal)

        response = JsonResponse(
            {
                "messages": [out(m) for m in fresh],
                "updates": [{**out(m), "type": "update"} for m in changed],
                "read_upto": queries.others_read_upto(thread, request.user),
                "now": now.isoformat(),
            }
        )
    response["Cache-Control"] = "private, no-store"
    return response


def thread_read(request: HttpRequest, ctx: PortalContext, thread_id: int) -> HttpResponse:
    thread = _thread(request, ctx, thread_id)
    refused = _refused(request, SMALL_POST_MAX_BYTES)
    if refused is not None:
        return refused
    upto = _int_param(request.POST.get("upto"))
    position = actions.do_mark_read(thread, request.user, upto)
    notify.read_notifications(request.user, thread.pk, ctx.portal, thread.brand)
    if _wants_json(request):
        return JsonResponse({"ok": True, "read_upto": position})
    return redirect(_thread_url(ctx, thread))


# --- editing and deleting one's own messages ---------------------------------------------


def _own_message(
    request: HttpRequest, ctx: PortalContext, thread_id: int, message_id: int
) -> tuple[Thread, Message]:
    """A text message of the reader's in a thread of theirs; anything else is 404."""
    thread = _thread(request, ctx, thread_id)
    message = queries.access_message(thread, message_id)
    if message.kind != MessageKind.TEXT or message.sender_id != request.user.pk:
        raise Http404
    message.thread = thread
    return thread, message


def _action_page(
    request: HttpRequest,
    ctx: PortalContext,
    thread: Thread,
    message: Message,
    template: str,
    *,
    errors: list[str] | None = None,
    body: str | None = None,
    status: int = 200,
) -> HttpResponse:
    with timezone.override(reader_zone(request, ctx, thread)):
        line = _line(message, ctx, request.user, read_upto=0, seen_upto=message.pk)
        return render(
            request,
            template,
            {
                "ctx": ctx,
                "thread": thread,
                "name": queries.counterpart_name(thread, _side(ctx)),
                "line": line,
                "errors": errors or [],
                "body": body if body is not None else body_of(message),
                "body_max": BODY_MAX,
                "thread_url": _thread_url(ctx, thread),
                "list_url": reverse(f"{ctx.portal}:messages"),
                "edit_minutes": int(actions.EDIT_WINDOW.total_seconds() // 60),
                "delete_hours": int(actions.DELETE_WINDOW.total_seconds() // 3600),
            },
            status=status,
        )


def message_edit(
    request: HttpRequest, ctx: PortalContext, thread_id: int, message_id: int
) -> HttpResponse:
    thread, message = _own_message(request, ctx, thread_id, message_id)
    template = "common/messages/edit.html"
    if request.method != "POST":
        return _action_page(request, ctx, thread, message, template)
    refused = _refused(request, SMALL_POST_MAX_BYTES)
    if refused is not None:
        return refused
    body = request.POST.get("body", "")
    try:
        message = actions.do_edit(message, by=request.user, body=body, request=request)
    except ValidationError as error:
        errors = list(error.messages)
        if _wants_json(request):
            return JsonResponse({"ok": False, "errors": {"body": errors}}, status=400)
        return _action_page(
            request, ctx, thread, message, template, errors=errors, body=body, status=400
        )
    return _done(request, ctx, thread, message)


def message_delete(
    request: HttpRequest, ctx: PortalContext, thread_id: int, message_id: int
) -> HttpResponse:
    thread, message = _own_message(request, ctx, thread_id, message_id)
    template = "common/messages/delete.html"
    if request.method != "POST":
        return _action_page(request, ctx, thread, message, template)
    refused = _refused(request, SMALL_POST_MAX_BYTES)
    if refused is not None:
        return refused
    try:
        message = actions.do_delete(message, by=request.user, request=request)
    except ValidationError as error:
        errors = list(error.messages)
        if _wants_json(request):
            return JsonResponse({"ok": False, "errors": {"body": errors}}, status=400)
        return _action_page(request, ctx, thread, message, template, errors=errors, status=400)
    return _done(request, ctx, thread, message)


def _done(
    request: HttpRequest, ctx: PortalContext, thread: Thread, message: Message
) -> HttpResponse:
    if _wants_json(request):
        message.thread = thread
        with timezone.override(reader_zone(request, ctx, thread)):
            payload = for_reader(
                {**message_payload(message), "type": "update"},
                user_id=request.user.pk,
                portal=ctx.portal,
            )
        return JsonResponse({"ok": True, "message": payload})
    return redirect(f"{_thread_url(ctx, thread)}#m-{message.pk}")


# --- attachments -------------------------------------------------------------------------


@require_GET
def attachment(
    request: HttpRequest, ctx: PortalContext, thread_id: int, message_id: int
) -> HttpResponse:
    thread = _thread(request, ctx, thread_id)
    message = queries.access_message(thread, message_id)
    if (
        message.attachment is None
        or message.deleted_at is not None
        or message.purged_at is not None
    ):
        raise Http404
    message.thread = thread
    do_record_download(message, request.user, request)
    return file_response(message.attachment, inline=True)


# --- opening a conversation --------------------------------------------------------------


@require_POST
def thread_start(request: HttpRequest, ctx: PortalContext, rel_id: int) -> HttpResponse:
    """A patient or specialist opens the care thread of an active relationship of theirs
    on this brand (created on first use); anything else is 404."""
    brand = _brand(ctx)
    if ctx.portal == Portal.PATIENT:
        rel = access_patient_relationship(request.user, brand, rel_id)
    else:
        profile = own_profile(request.user, ctx.membership.network_id)
        if profile is None:
            raise Http404
        rel = access_specialist_relationship(profile, rel_id)
    if rel.ended_at is not None or rel.brand_id != brand.pk:
        raise Http404
    thread = actions.care_thread(brand, rel.patient, rel.profile)
    return redirect(_thread_url(ctx, thread))


@require_GET
def staff_chooser(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    """Staff choose a specialist or patient their organization may reach."""
    brand = _brand(ctx)
    search = request.GET.get("q", "").strip()[: reach.SEARCH_MAX]
    specialists = list(
        reach.reachable_specialists(ctx.membership, brand, search=search)[: CHOOSER_LIMIT + 1]
    )
    patients = list(
        reach.reachable_patients(ctx.membership, brand, search=search)[: CHOOSER_LIMIT + 1]
    )
    return render(
        request,
        "common/messages/new.html",
        {
            "ctx": ctx,
            "search": search,
            "specialists": [
                (profile, public_name(profile)) for profile in specialists[:CHOOSER_LIMIT]
            ],
            "patients": patients[:CHOOSER_LIMIT],
            "more": len(specialists) > CHOOSER_LIMIT or len(patients) > CHOOSER_LIMIT,
            "can_start": may_start_staff_threads(ctx),
        },
    )


@require_POST
def staff_thread_start(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    """Open (or reopen) the organization's thread with one reachable person."""
    brand = _brand(ctx)
    patient_id = _int_param(request.POST.get("patient"))
    profile_id = _int_param(request.POST.get("profile"))
    if (patient_id is None) == (profile_id is None):
        raise Http404
    organization = ctx.membership.organization
    if profile_id is not None:
        profile = reach.reachable_specialists(ctx.membership, brand).filter(pk=profile_id).first()
        if profile is None:
            raise Http404
        thread = actions.staff_thread(brand, organization, profile=profile)
    else:
        patient = reach.reachable_patients(ctx.membership, brand).filter(pk=patient_id).first()
        if patient is None:
            raise Http404
        thread = actions.staff_thread(brand, organization, patient=patient)
    return redirect(_thread_url(ctx, thread))


# --- routes ------------------------------------------------------------------------------


def urls(portal: str) -> list:  # type: ignore[type-arg]
    """The portal's conversation routes (names in the portal's namespace): ``messages``,
    ``thread``, ``thread_post``, ``thread_poll``, ``thread_read``, ``message_edit``,
    ``message_delete``, ``attachment``; ``thread_start`` (patient, specialist: from a care
    relationship); ``message_new`` and ``staff_thread_start`` (organization)."""
    needs = Capability.MESSAGE_PEOPLE if portal == Portal.ORGANIZATION else None
    view = portal_view(portal, needs=needs)
    thread_posts = [
        ("post/", thread_post, "thread_post"),
        ("read/", thread_read, "thread_read"),
    ]
    routes = [
        path("messages/", view(thread_list), name="messages"),
        path("messages/<int:thread_id>/", view(thread_page), name="thread"),
        path("messages/<int:thread_id>/poll/", view(thread_poll), name="thread_poll"),
        *[
            path(
                f"messages/<int:thread_id>/{suffix}",
                csrf_exempt(view(require_POST(function))),
                name=name,
            )
            for suffix, function, name in thread_posts
        ],
        path(
            "messages/<int:thread_id>/m/<int:message_id>/edit/",
            csrf_exempt(view(require_http_methods(["GET", "POST"])(message_edit))),
            name="message_edit",
        ),
        path(
            "messages/<int:thread_id>/m/<int:message_id>/delete/",
            csrf_exempt(view(require_http_methods(["GET", "POST"])(message_delete))),
            name="message_delete",
        ),
        path(
            "messages/<int:thread_id>/m/<int:message_id>/file/",
            view(attachment),
            name="attachment",
        ),
    ]
    if portal == Portal.ORGANIZATION:
        routes += [
            path("messages/new/", view(staff_chooser), name="message_new"),
            path("messages/new/start/", view(staff_thread_start), name="staff_thread_start"),
        ]
    else:
        routes.append(path("messages/start/<int:rel_id>/", view(thread_start), name="thread_start"))
    return routes
