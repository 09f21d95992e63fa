"""Forms of the specialist's booking pages. They turn input into the values the booking
actions take (instants from local dates and times in the specialist's zone); the actions
decide and change state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from caredoor.core.brands.models import Brand
from caredoor.core.scheduling.models import SessionType
from caredoor.portals.specialist.booking_support import (
    local_instant,
    parse_slot,
    session_type_label,
)
from caredoor.portals.specialist.forms import ActionErrorsMixin

MAX_REASON = 500
SERIES_MAX = 52


def date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def time_input() -> forms.TimeInput:
    return forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")


class StartForm(ActionErrorsMixin, forms.Form):
    """A start time: a date and a time in the specialist's zone, or one of the free times
    offered as buttons (``slot``, an ISO instant) which wins when present."""

    day = forms.DateField(label=_("Date"), required=False, widget=date_input())
    at = forms.TimeField(label=_("Time"), required=False, widget=time_input())
    # Sent by the "free time" buttons only; never rendered as a field.
    slot = forms.CharField(required=False, widget=forms.HiddenInput)

    start_required = True

    def __init__(self, *args: Any, zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.start: datetime | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors.get("day") or self.errors.get("at"):
            return data
        if data.get("slot"):
            try:
                self.start = parse_slot(data["slot"])
            except ValidationError as exc:
                self.add_error(None, exc)
            return data
        day, at = data.get("day"), data.get("at")
        if day is None and at is None and not self.start_required:
            return data
        if day is None or at is None:
            self.add_error(
                "day" if day is None else "at",
                _("Give a date and a time, or pick one of the free times."),
            )
            return data
        try:
            self.start = local_instant(day, at, self.zone)
        except ValidationError as exc:
            self.add_error("at", exc)
        return data


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The patient sees it in the cancellation message."),
    )


class RescheduleForm(StartForm):
    pass


class SeriesChangeForm(StartForm):
    skip_conflicts = forms.BooleanField(
        label=_("Skip the dates that are not free (they stay as they are)"), required=False
    )


class ScheduleForm(StartForm):
    """A session for one of the specialist's patients: one select of patients grouped by
    site (the value names both, ``brand:patient``), a session type and a start."""

    patient = forms.ChoiceField(label=_("Patient"))
    session_type = forms.ChoiceField(label=_("Session type"))

    def __init__(
        self,
        *args: Any,
        patients: list[tuple[str, list]],
        brands: list[Brand],
        types: list[SessionType],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.brands = {brand.pk: brand for brand in brands}
        self.has_patients = bool(patients)
        self.fields["patient"].choices = [("", _("Choose a patient")), *patients]  # type: ignore[attr-defined]
        self.session_types = {st.pk: st for st in types}
        self.fields["session_type"].choices = [  # type: ignore[attr-defined]
            ("", _("Choose a session type")),
            *[(str(st.pk), session_type_label(st)) for st in types],
        ]

    def clean_patient(self) -> tuple[Brand, int]:
        raw = self.cleaned_data["patient"]
        brand_id, _sep, patient_id = raw.partition(":")
        brand = self.brands.get(int(brand_id)) if brand_id.isdigit() else None
        if brand is None or not patient_id.isdigit():
            raise ValidationError(_("Choose a patient from the list."), code="invalid_choice")
        return brand, int(patient_id)

    def clean_session_type(self) -> SessionType:
        raw = self.cleaned_data["session_type"]
        session_type = self.session_types.get(int(raw)) if raw.isdigit() else None
        if session_type is None:
            raise ValidationError(_("Choose a session type from the list."), code="invalid_choice")
        return session_type

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # A session type kept for one site cannot be scheduled on another.
        pair, session_type = data.get("patient"), data.get("session_type")
        if pair and session_type and session_type.brand_id not in (None, pair[0].pk):
            self.add_error(
                "session_type",
                gettext("This session type is offered only on %(site)s.")
                % {"site": session_type.brand.name},
            )
        return data


PAYMENT_CHOICES = [
    ("", _("As the site's rule says")),
    ("yes", _("Yes: the patient pays to confirm")),
    ("no", _("No: accepting confirms it")),
]


class ProposeForm(ScheduleForm):
    session_type = forms.ChoiceField(
        label=_("Session type"),
        help_text=_("Session types patients cannot book themselves can be proposed too."),
    )
    expires_day = forms.DateField(label=_("Answer by (date)"), required=False, widget=date_input())
    expires_at = forms.TimeField(label=_("Answer by (time)"), required=False, widget=time_input())
    requires_payment = forms.ChoiceField(
        label=_("Payment before confirmation"), choices=PAYMENT_CHOICES, required=False
    )

    field_order = [
        "patient",
        "session_type",
        "day",
        "at",
        "expires_day",
        "expires_at",
        "requires_payment",
    ]
    error_fields = {"expires_at": "expires_day"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline: datetime | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        day, at = data.get("expires_day"), data.get("expires_at")
        if day is not None or at is not None:
            if day is None or at is None:
                self.add_error(
                    "expires_day", _("Give both a date and a time for the answer deadline.")
                )
            else:
                try:
                    self.deadline = local_instant(day, at, self.zone)
                except ValidationError as exc:
                    self.add_error("expires_at", exc)
        return data

    @property
    def payment(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.cleaned_data.get("requires_payment") or "")


class AnswerRequestForm(StartForm):
    pass


INTERVAL_CHOICES = [("1", _("Every week")), ("2", _("Every other week"))]


class SeriesForm(ScheduleForm):
    interval = forms.TypedChoiceField(
        label=_("Repeats"),
        choices=INTERVAL_CHOICES,
        coerce=int,
        initial="1",
        widget=forms.RadioSelect,
    )
    count = forms.IntegerField(
        label=_("Number of sessions"),
        min_value=2,
        max_value=SERIES_MAX,
        initial=6,
    )
    skip_conflicts = forms.BooleanField(
        label=_("Skip the dates that are not free and book the others"), required=False
    )

    field_order = ["patient", "session_type", "day", "at", "interval", "count"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["day"].label = _("First session: date")
        self.fields["at"].label = _("First session: time")
        self.fields["count"].help_text = gettext("From 2 to %(n)s, the first included.") % {
            "n": SERIES_MAX
        }
