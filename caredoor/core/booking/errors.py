"""What booking actions raise besides ValidationError."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from caredoor.core.scheduling.engine import Slot


class SlotTaken(Exception):
    """The time was taken by another booking (often a concurrent one): nothing was written.

    ``alternatives``: the next free slots of the same session type, computed after the
    failed attempt with the bookings as they now stand.
    """

    def __init__(self, alternatives: list[Slot] | None = None) -> None:
        self.message = _("This time was just taken. Here are the next free times.")
        self.alternatives: list[Slot] = list(alternatives or [])
        super().__init__(str(self.message))


class SeriesConflicts(Exception):
    """Some occurrences of a series cannot be booked: nothing was written.

    ``occurrences``: every occurrence with its conflict (or none), to show per occurrence.
    """

    def __init__(self, occurrences: list) -> None:  # list[series.Occurrence]
        self.occurrences = occurrences
        self.message = _("Some dates of the series are not free.")
        super().__init__(str(self.message))
