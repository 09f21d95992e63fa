"""Patient pages for intake (being built). ``pending_steps`` feeds the journey (journey.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from caredoor.core.brands.models import Brand


def pending_steps(request: HttpRequest, brand: Brand, stage: str, *, profile: Any = None) -> list:
    return []
