"""Reads of a person's notifications: always scoped to (user, brand, portal)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from caredoor.core.brands.models import Brand
from caredoor.core.notifications.models import Notification


def inbox(user: Any, brand: Brand, portal: str) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user, brand=brand, portal=portal)


def unread_count(user: Any, brand: Brand, portal: str) -> int:
    """One query; the header shows it on every portal page."""
    return inbox(user, brand, portal).unread().count()
