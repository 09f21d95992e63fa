"""The patient's journey steps: what must be done before the next stage, in one place.

Each module that adds requirements (consents, intake) offers ``pending_steps(request,
brand, stage, profile=None)``; ``pending_steps`` here asks them in order, and ``gate``
turns the first pending step into a redirect that comes back to ``next_url`` when done.
The home page lists the same steps, so "what's next" and the gates never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from caredoor.core.brands.models import Brand


@dataclass(frozen=True)
class Step:
    kind: str  # "consent", "intake", ...
    title: str  # translated, e.g. "Sign the telehealth consent"
    url: str  # where the patient does it (accepts ?next=)
    detail: str = ""


def pending_steps(
    request: HttpRequest, brand: Brand, stage: str, *, profile: Any = None
) -> list[Step]:
    """Everything the signed-in patient still has to do before ``stage`` on ``brand``
    (``profile``: the specialist the stage concerns, whose own requirements count too)."""
    from caredoor.portals.patient import consents, intake

    return [
        *consents.pending_steps(request, brand, stage, profile=profile),
        *intake.pending_steps(request, brand, stage, profile=profile),
    ]


def gate(
    request: HttpRequest, brand: Brand, stage: str, *, next_url: str, profile: Any = None
) -> HttpResponse | None:
    """A redirect to the first pending step (returning to ``next_url``), or None."""
    steps = pending_steps(request, brand, stage, profile=profile)
    if not steps:
        return None
    sep = "&" if "?" in steps[0].url else "?"
    return redirect(f"{steps[0].url}{sep}{urlencode({'next': next_url})}")
