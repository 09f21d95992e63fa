"""Where a link about something leads in each portal: URL names only, no models.

Booking emails and in-app notifications (``booking/notify.py``) and the system lines of a
conversation (``messaging/events.py``) link to the same pages, so the table is here, below
both. Each entry lists the page to try first and its fallbacks (the nearest list); a
portal without any of them links to its home.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

# (side, what) -> ((URL name, takes the id), ...), first that resolves wins.
LINKS: dict[tuple[str, str], tuple[tuple[str, bool], ...]] = {
    ("patient", "booking"): (("patient:booking", True), ("patient:bookings", False)),
    ("specialist", "booking"): (("specialist:booking", True), ("specialist:calendar", False)),
    ("patient", "request"): (("patient:request", True), ("patient:bookings", False)),
    ("specialist", "request"): (("specialist:request", True), ("specialist:requests", False)),
    # Joining a session: each side's join page (the video room inside the join window).
    ("patient", "join"): (("patient:session_join", True), ("patient:booking", True)),
    ("specialist", "join"): (
        ("specialist:session_join", True),
        ("specialist:booking", True),
        ("specialist:calendar", False),
    ),
    # Consents: the patient's own documents; the specialist's record of the relationship.
    ("patient", "consents"): (("patient:consents", False),),
    ("specialist", "relationship"): (("specialist:patient", True), ("specialist:patients", False)),
}
HOMES = {"patient": "patient:dashboard", "specialist": "specialist:dashboard"}


def portal_path(side: str, what: str, pk: int) -> str:
    """The path of ``what`` (with id ``pk``) in the portal of ``side``."""
    for name, with_pk in LINKS[(side, what)]:
        try:
            return reverse(name, args=[pk] if with_pk else [])
        except NoReverseMatch:
            continue
    return reverse(HOMES[side])
