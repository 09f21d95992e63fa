"""Demo conversations: Ana and Dr. Mara Klein at Harbor Therapy have talked, and Mara's
last message is unread, so Ana's Messages badge shows it; the network's operator has
welcomed Mara in a staff conversation.

Messages go through the real actions (encrypted, pushed, notified). Idempotent: a thread
that already has messages from people is left alone.
"""

from __future__ import annotations

from caredoor.core.accounts.models import User
from caredoor.core.brands.models import Brand
from caredoor.core.care.models import CareRelationship
from caredoor.core.messaging.actions import care_thread, do_mark_read, do_post, staff_thread
from caredoor.core.messaging.models import MessageKind, Side
from caredoor.core.organizations.models import Organization

MARA = "mara.klein@caredoor.test"
ANA = "ana.patient@caredoor.test"
OLIVIA = "operator@caredoor.test"

CONVERSATION = [
    (
        Side.PATIENT,
        "Hello Dr. Klein, thank you for the first session. Is it fine if I send "
        "you my sleep diary before next week?",
    ),
    (
        Side.SPECIALIST,
        "Hello Ana, yes please. A photo or a PDF is fine; attach it here and "
        "only the two of us can open it.",
    ),
    (Side.PATIENT, "Great, I will send it on Sunday."),
    (
        Side.SPECIALIST,
        "Thank you. If anything comes up before our next session, write to me "
        "here: I usually answer within one working day.",
    ),
]
WELCOME = (
    "Welcome to Harbor Therapy, Mara. Your listing is live; reply here if you need anything "
    "from the operations team."
)


def seed_messaging(brands: dict[str, Brand], log=print) -> None:  # type: ignore[no-untyped-def]
    brand = brands.get("harbor")
    mara = User.objects.filter(email=MARA).first()
    ana = User.objects.filter(email=ANA).first()
    if brand is None or mara is None or ana is None:
        return
    rel = (
        CareRelationship.objects.filter(
            brand=brand, patient=ana, profile__user=mara, ended_at__isnull=True
        )
        .select_related("profile")
        .first()
    )
    if rel is None:
        return
    thread = care_thread(brand, ana, rel.profile)
    if not thread.messages.filter(kind=MessageKind.TEXT).exists():
        people = {Side.PATIENT: ana, Side.SPECIALIST: mara}
        last = None
        for side, body in CONVERSATION:
            last = do_post(thread, sender=people[side], side=side, body=body)
            if side == Side.SPECIALIST and last is not None and body != CONVERSATION[-1][1]:
                do_mark_read(thread, ana, last.pk)
        log(f"{'Conversation':<20} {brand.name}: Ana and Dr. Mara Klein (one unread for Ana)")
    operator_org = Organization.objects.filter(network=brand.network, kind="operator").first()
    olivia = User.objects.filter(email=OLIVIA).first()
    if operator_org is None or olivia is None:
        return
    welcome = staff_thread(brand, operator_org, profile=rel.profile)
    if not welcome.messages.exists():
        do_post(welcome, sender=olivia, side=Side.STAFF, body=WELCOME)
        log(f"{'Conversation':<20} {brand.name}: operations team and Dr. Mara Klein")
