"""Who may see a thread, and scoped reads of threads, messages and unread state.

``side_of`` is the one rule: the patient of a thread (while they are a patient of its
brand), its specialist (while they hold the specialist role in the brand's network), or,
in a staff thread, a member of its organization whose role may message people and whose
membership applies on the thread's brand. Everything else, including another brand's
staff, is nobody, and every lookup by id answers 404 to nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from caredoor.core.accounts.models import Membership
from caredoor.core.accounts.policy import CAPABILITIES, Capability, Portal, Role
from caredoor.core.accounts.queries import memberships_on_brand
from caredoor.core.brands.models import Brand
from caredoor.core.messaging import hotpath
from caredoor.core.messaging.models import (
    Message,
    MessageKind,
    Side,
    Thread,
    ThreadKind,
    ThreadRead,
)
from caredoor.core.organizations.models import OrgKind
from caredoor.core.specialists.queries import public_name

PORTAL_SIDE = {
    Portal.PATIENT: Side.PATIENT,
    Portal.SPECIALIST: Side.SPECIALIST,
    Portal.ORGANIZATION: Side.STAFF,
}
SIDE_PORTAL = {side: portal for portal, side in PORTAL_SIDE.items()}
STAFF_ROLES = CAPABILITIES[Capability.MESSAGE_PEOPLE]
# Organizations whose staff may hold conversations: they see who is cared for by whom.
MESSAGING_ORG_KINDS = (OrgKind.OPERATOR, OrgKind.CLINIC, OrgKind.CLINIC_NETWORK)


def _roles_on(user: Any, brand: Brand) -> list[Membership]:
    return list(memberships_on_brand(user, brand))


def _grant(user: Any, thread: Thread) -> tuple[str, Membership] | None:
    """The side ``user`` takes in ``thread`` and the membership that gives it."""
    if not getattr(user, "is_authenticated", False):
        return None
    memberships = _roles_on(user, thread.brand)

    def first(wanted: Any) -> Membership | None:
        return next((m for m in memberships if wanted(m)), None)

    if thread.patient_id == user.pk and (grant := first(lambda m: m.role == Role.PATIENT)):
        return Side.PATIENT, grant
    if (
        thread.profile_id
        and thread.profile.user_id == user.pk
        and (grant := first(lambda m: m.role == Role.SPECIALIST))
    ):
        return Side.SPECIALIST, grant
    if thread.kind == ThreadKind.STAFF and (
        grant := first(
            lambda m: m.organization_id == thread.organization_id and m.role in STAFF_ROLES
        )
    ):
        return Side.STAFF, grant
    return None


def side_of(user: Any, thread: Thread) -> str | None:
    """The side ``user`` takes in ``thread``, or None when they may not see it."""
    grant = _grant(user, thread)
    return grant[0] if grant else None


def access_thread(user: Any, brand: Brand, portal: str, thread_id: int) -> Thread:
    """The thread if ``user`` is its party on this brand in this portal; else 404."""
    return access_thread_grant(user, brand, portal, thread_id)[0]


def access_thread_grant(
    user: Any, brand: Brand, portal: str, thread_id: int
) -> tuple[Thread, Membership]:
    """``access_thread``, with the membership that grants the access (``still_granted``)."""
    thread = (
        Thread.objects.select_related("brand", "patient", "profile__user", "organization")
        .filter(pk=thread_id, brand=brand)
        .first()
    )
    grant = _grant(user, thread) if thread is not None else None
    if thread is None or grant is None or grant[0] != PORTAL_SIDE.get(portal):
        raise Http404
    return thread, grant[1]


def still_granted(user: Any, thread: Thread, side: str, membership_id: int) -> bool:
    """The live socket's periodic re-check of an open subscription. A patient's or a
    specialist's access rests on one membership (the thread's people never change), so
    while that membership stays active, with its person, one indexed lookup answers;
    otherwise, and always for staff (whose access also follows the organization's
    brands), the side is decided afresh."""
    if side in (Side.PATIENT, Side.SPECIALIST) and hotpath.membership_active(membership_id):
        return True
    return side_of(user, thread) == side


def threads_for(user: Any, brand: Brand, portal: str, membership: Any = None) -> QuerySet[Thread]:
    """The person's threads on ``brand`` in ``portal`` (staff: their organization's)."""
    qs = Thread.objects.filter(brand=brand).select_related(
        "patient", "profile", "profile__published", "profile__user", "organization"
    )
    if portal == Portal.PATIENT:
        return qs.filter(patient=user)
    if portal == Portal.SPECIALIST:
        return qs.filter(profile__user=user)
    if portal == Portal.ORGANIZATION and membership is not None:
        if membership.role not in STAFF_ROLES or membership.organization_id is None:
            return qs.none()
        return qs.filter(kind=ThreadKind.STAFF, organization_id=membership.organization_id)
    return qs.none()


def with_unread(threads: QuerySet[Thread], user: Any) -> QuerySet[Thread]:
    """Annotate ``unread``: messages from others after the person's read position."""
    last_read = ThreadRead.objects.filter(thread=OuterRef("pk"), user=user).values("last_read_id")[
        :1
    ]
    return threads.annotate(
        read_upto=Coalesce(Subquery(last_read), Value(0)),
        unread=Count(
            "messages",
            filter=Q(
                messages__id__gt=F("read_upto"),
                messages__kind=MessageKind.TEXT,
                messages__deleted_at__isnull=True,
            )
            & ~Q(messages__sender=user),
        ),
    )


def unread_total(user: Any, brand: Brand, portal: str, membership: Any = None) -> int:
    """Unread messages across the person's threads in this portal on this brand."""
    threads = threads_for(user, brand, portal, membership)
    last_read = ThreadRead.objects.filter(thread=OuterRef("thread_id"), user=user).values(
        "last_read_id"
    )[:1]
    return (
        Message.objects.filter(
            thread__in=threads.values("pk"), kind=MessageKind.TEXT, deleted_at__isnull=True
        )
        .exclude(sender=user)
        .annotate(read_upto=Coalesce(Subquery(last_read), Value(0)))
        .filter(id__gt=F("read_upto"))
        .count()
    )


def latest_messages(thread: Thread, *, before: int | None = None, limit: int = 50) -> list[Message]:
    """The newest ``limit`` messages (before an id, for "earlier messages"), oldest first."""
    qs = thread.messages.select_related("sender", "attachment")
    if before:
        qs = qs.filter(pk__lt=before)
    return list(reversed(qs.order_by("-pk")[:limit]))


def messages_after(thread: Thread, after: int, *, limit: int = 200) -> list[Message]:
    """Messages with an id above ``after``, oldest first: the resume and polling read."""
    return list(
        thread.messages.select_related("sender", "attachment")
        .filter(pk__gt=after)
        .order_by("pk")[:limit]
    )


def changed_since(thread: Thread, after: int, since: Any) -> list[Message]:
    """Messages up to ``after`` edited or deleted after ``since`` (polling clients)."""
    return list(
        thread.messages.select_related("sender", "attachment")
        .filter(pk__lte=after)
        .filter(Q(edited_at__gt=since) | Q(deleted_at__gt=since))
        .order_by("pk")
    )


def others_read_upto(thread: Thread, user: Any) -> int:
    """The furthest any other party has read: "Read" on my messages up to this id."""
    row = (
        ThreadRead.objects.filter(thread=thread)
        .exclude(user=user)
        .order_by("-last_read_id")
        .values_list("last_read_id", flat=True)
        .first()
    )
    return row or 0


def access_message(thread: Thread, message_id: int) -> Message:
    message = thread.messages.select_related("attachment", "sender").filter(pk=message_id).first()
    if message is None:
        raise Http404
    return message


def has_active_care(thread: Thread) -> bool:
    """A care thread is open for posting while the pair has an active relationship (one
    statement, also in every post's path: ``hotpath.care_is_open``)."""
    if thread.kind != ThreadKind.CARE:
        return True
    return hotpath.care_is_open(thread)


@dataclass(frozen=True)
class Recipient:
    user: Any
    side: str
    portal: str


def parties(thread: Thread) -> list[Recipient]:
    """Everyone who reads the thread, with the portal they read it in: the patient, the
    specialist, and in a staff thread the organization's active messaging staff. Cheap
    (one query for staff threads): it runs after every message. Access itself is always
    decided by ``side_of``."""
    people: list[Recipient] = []
    if thread.patient_id and thread.patient.is_active:
        people.append(Recipient(thread.patient, Side.PATIENT, Portal.PATIENT))
    if thread.profile_id and thread.profile.user.is_active:
        people.append(Recipient(thread.profile.user, Side.SPECIALIST, Portal.SPECIALIST))
    if thread.kind == ThreadKind.STAFF:
        staff = (
            Membership.objects.active()
            .filter(organization_id=thread.organization_id, role__in=STAFF_ROLES)
            .select_related("user")
            .order_by("user_id")
        )
        seen: set[int] = set()
        for membership in staff:
            if membership.user_id not in seen:
                seen.add(membership.user_id)
                people.append(Recipient(membership.user, Side.STAFF, Portal.ORGANIZATION))
    return people


def sender_name(message: Message) -> str:
    """How a message's author is shown: the specialist's public name, the staff member's
    name with their organization, the patient's name; events have no author."""
    if message.side == Side.SYSTEM or message.sender is None:
        return ""
    thread = message.thread
    if message.side == Side.SPECIALIST and thread.profile_id:
        return public_name(thread.profile)
    if message.side == Side.STAFF and thread.organization_id:
        return f"{message.sender.display_name} ({thread.organization.name})"
    return message.sender.display_name


def counterpart_name(thread: Thread, side: str) -> str:
    """The name of the other party as the reader on ``side`` sees it."""
    if thread.kind == ThreadKind.CARE:
        if side == Side.PATIENT:
            return public_name(thread.profile)
        return thread.patient.display_name
    if side == Side.STAFF:
        return thread.patient.display_name if thread.patient_id else public_name(thread.profile)
    return thread.organization.name
