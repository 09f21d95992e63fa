"""The session gate: a session cannot start while a required consent is unsigned."""

from __future__ import annotations

from typing import Any

from caredoor.core.brands.choices import JourneyStage
from caredoor.core.consents.models import ConsentVersion
from caredoor.core.consents.queries import outstanding


def session_blockers(booking: Any) -> list[ConsentVersion]:
    """Current versions the booking's patient must still sign before the session: the
    brand's documents due by ``session`` and the specialist's own required documents."""
    return outstanding(
        booking.patient, booking.brand, JourneyStage.SESSION, profile=booking.profile
    )


def can_start(booking: Any) -> bool:
    return not session_blockers(booking)
