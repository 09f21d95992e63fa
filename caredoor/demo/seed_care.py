"""Demo care: Dr. Mara Klein keeps a private note on Ana's care at Harbor Therapy, so the
specialist's patient record shows notes (encrypted, every read audited).

The relationships themselves come from the demo's bookings (every booking insert starts
the pair's relationship). Idempotent: the note is written only while the relationship has
none.
"""

from __future__ import annotations

from caredoor.core.accounts.models import User
from caredoor.core.brands.models import Brand
from caredoor.core.care.actions import do_add_note
from caredoor.core.care.models import CareRelationship

MARA = "mara.klein@caredoor.test"
ANA = "ana.patient@caredoor.test"
NOTE = (
    "First contact via the directory. Wants help with sleep and work stress; prefers "
    "sessions early in the week. Review goals after the third session."
)


def seed_care(brands: dict[str, Brand], log=print) -> None:  # type: ignore[no-untyped-def]
    brand = brands.get("harbor")
    mara = User.objects.filter(email=MARA).first()
    ana = User.objects.filter(email=ANA).first()
    if brand is None or mara is None or ana is None:
        return
    rel = CareRelationship.objects.filter(
        brand=brand, patient=ana, profile__user=mara, ended_at__isnull=True
    ).first()
    if rel is None or rel.notes.exists():
        return
    do_add_note(rel, author=mara, body=NOTE)
    log(f"{'Care note':<20} {brand.name}: Dr. Mara Klein on Ana's care")
