"""``{{ booking.start|when }}``: a moment in the active language and time zone, the zone named.

Emails are rendered inside ``translation.override`` and ``timezone.override`` for their
recipient (``accounts.emails.branded_email``), so the same template says
"Thursday, Dec. 3, 2026, 10 a.m. (Europe/London)" to one person and
"Donnerstag, 3. Dezember 2026, 11:00 (Europe/Berlin)" to another.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.formats import date_format, time_format

register = template.Library()


@register.filter
def when(value: datetime | None) -> str:
    if not value:
        return ""
    local = timezone.localtime(value)
    day = date_format(local, "DATE_FORMAT")
    weekday = date_format(local, "l")
    clock = time_format(local, "TIME_FORMAT")
    return f"{weekday}, {day}, {clock} ({timezone.get_current_timezone_name()})"
