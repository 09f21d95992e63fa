"""Forms of the patient's booking pages: the time zone switch, cancelling, and the
availability request with its periods typed in the viewer's zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from caredoor.core.booking.requests import MAX_WINDOWS
from caredoor.core.scheduling.models import SessionType
from caredoor.portals.common.forms import zone_choices
from caredoor.portals.patient.booking_display import aware_local, zone_title

PERIODS = MAX_WINDOWS
COMMON_ZONES = (
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Istanbul",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "UTC",
)


def grouped_zone_choices() -> list[tuple[str, Any]]:
    """Common zones first, then every zone zoneinfo knows."""
    common = [(z, zone_title(z)) for z in COMMON_ZONES]
    return [(_("Common time zones"), common), (_("All time zones"), zone_choices())]


class ZoneForm(forms.Form):
    zone = forms.ChoiceField(label=_("Show times in"))
    next = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["zone"].choices = grouped_zone_choices()


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shared with your specialist only."),
    )


class RequestForm(forms.Form):
    """A session type and up to five periods that suit the patient, in ``zone``."""

    session_type = forms.TypedChoiceField(label=_("Session type"), coerce=int)

    def __init__(
        self, *args: Any, session_types: list[SessionType], zone_name: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.zone_name = zone_name
        self.session_types = {st.pk: st for st in session_types}
        self.fields["session_type"].choices = [
            (
                st.pk,
                _("%(name)s (%(minutes)s minutes)")
                % {"name": st.name, "minutes": st.duration_minutes},
            )
            for st in session_types
        ]
        for i in range(1, PERIODS + 1):
            self.fields[f"day_{i}"] = forms.DateField(
                label=_("Date"),
                required=False,
                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            )
            self.fields[f"from_{i}"] = forms.TimeField(
                label=_("From"),
                required=False,
                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            )
            self.fields[f"until_{i}"] = forms.TimeField(
                label=_("Until"),
                required=False,
                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            )
        self.periods: list[tuple[datetime, datetime]] = []

    def rows(self) -> list[dict[str, Any]]:
        """The period fields grouped per row, for the template."""
        return [
            {
                "number": i,
                "day": self[f"day_{i}"],
                "start": self[f"from_{i}"],
                "end": self[f"until_{i}"],
                "fields": [self[f"day_{i}"], self[f"from_{i}"], self[f"until_{i}"]],
            }
            for i in range(1, PERIODS + 1)
        ]

    @property
    def more_periods_open(self) -> bool:
        """Periods 3 to 5 sit behind "Add more periods", open once any of them is used."""
        names = [f"{k}_{i}" for i in range(3, PERIODS + 1) for k in ("day", "from", "until")]
        return self.is_bound and any(self.data.get(n) or n in self.errors for n in names)

    @property
    def chosen_type(self) -> SessionType | None:
        return self.session_types.get(self.cleaned_data.get("session_type"))  # type: ignore[arg-type]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        zone = ZoneInfo(self.zone_name)
        periods = []
        for i in range(1, PERIODS + 1):
            day, start, end = (data.get(f"{k}_{i}") for k in ("day", "from", "until"))
            if any(f"{k}_{i}" in self.errors for k in ("day", "from", "until")):
                continue  # the field's own error says what is wrong
            if day is None and start is None and end is None:
                continue
            if day is None or start is None or end is None:
                self.add_error(
                    f"day_{i}" if day is None else (f"from_{i}" if start is None else f"until_{i}"),
                    _("Give the date, a start and an end time."),
                )
                continue
            end_day = day
            if end == time(0):
                end_day = day + timedelta(days=1)  # until midnight: the end of that day
            elif end <= start:
                self.add_error(f"until_{i}", _("The period must end after it starts."))
                continue
            try:
                begins = aware_local(day, start, zone)
            except ValidationError as exc:
                self.add_error(f"from_{i}", exc)
                continue
            try:
                ends = aware_local(end_day, end, zone)
            except ValidationError as exc:
                self.add_error(f"until_{i}", exc)
                continue
            periods.append((begins, ends))
        if not periods and not self.errors:
            raise ValidationError(_("Give at least one period that suits you."))
        self.periods = periods
        return data
