"""Forms of the specialist's scheduling pages. They validate input; the actions write."""

from __future__ import annotations

import contextlib
from datetime import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from caredoor.core.brands.models import Brand
from caredoor.core.scheduling.models import SessionType
from caredoor.core.scheduling.queries import PriceScope
from caredoor.portals.specialist.forms import ActionErrorsMixin, to_major, to_minor

MAX_PRICE = Decimal("100000")
ALL_BRANDS = ""
MAX_ROWS = 12
TIME_FORMATS = ["%H:%M", "%H.%M", "%H:%M:%S", "%H"]


def minutes_as_hours(minutes: int) -> Decimal:
    """``600`` -> ``10``, ``90`` -> ``1.5`` (never ``1E+1``, which a number input refuses)."""
    hours = Decimal(minutes) / 60
    if hours == hours.to_integral_value():
        return hours.quantize(Decimal(1))
    return hours.quantize(Decimal("0.01")).normalize()


def _number(label: Any, *, low: int, high: int, help_text: Any = "") -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=low,
        max_value=high,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "input--short"}),
    )


class SessionTypeForm(ActionErrorsMixin, forms.Form):
    """What a patient books: name, length, buffers, notice, horizon, start grid, price,
    site and whether patients book it themselves."""

    error_fields = {
        "price_minor": "price",
        "min_notice_minutes": "min_notice_hours",
        "direct_booking": "booking",
    }

    name = forms.CharField(
        label=_("Name"),
        max_length=80,
        help_text=_("What patients see, for example “First session” or “Follow-up”."),
    )
    duration_minutes = _number(_("Length (minutes)"), low=5, high=480)
    buffer_before_minutes = _number(
        _("Free time before (minutes)"),
        low=0,
        high=240,
        help_text=_("Kept free before each session, for preparation."),
    )
    buffer_after_minutes = _number(
        _("Free time after (minutes)"),
        low=0,
        high=240,
        help_text=_("Kept free after each session, for notes or a break."),
    )
    min_notice_hours = forms.DecimalField(
        label=_("Minimum notice (hours)"),
        min_value=Decimal(0),
        max_value=Decimal(24 * 60),
        decimal_places=2,
        help_text=_("Patients cannot book a session that starts sooner than this."),
        widget=forms.NumberInput(attrs={"step": "0.25", "class": "input--short"}),
    )
    horizon_days = _number(
        _("Booking horizon (days)"),
        low=1,
        high=730,
        help_text=_("How far ahead patients can book."),
    )
    slot_step_minutes = _number(
        _("Start times every (minutes)"),
        low=5,
        high=240,
        help_text=_("Sessions can start at the beginning of your hours and then every so often."),
    )
    brand = forms.ChoiceField(label=_("Offered on"), required=False)
    price = forms.DecimalField(
        label=_("Price per session"),
        required=False,
        min_value=Decimal("0.01"),
        max_value=MAX_PRICE,
        max_digits=12,
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "autocomplete": "off", "class": "input--short"}
        ),
    )
    booking = forms.ChoiceField(
        label=_("Who can book it"),
        choices=[
            ("direct", _("Patients may book it directly")),
            ("invitation", _("Only by my invitation")),
        ],
        widget=forms.RadioSelect,
    )

    def __init__(
        self,
        *args: Any,
        brands: list[Brand],
        scope: PriceScope,
        instance: SessionType | None = None,
        **kwargs: Any,
    ) -> None:
        self.brands = {str(b.pk): b for b in brands}
        if instance is not None and instance.brand_id and str(instance.brand_id) not in self.brands:
            self.brands[str(instance.brand_id)] = instance.brand  # kept until changed
        self.scope = scope
        if instance is not None:
            kwargs.setdefault("initial", self._initial(instance))
        else:
            kwargs.setdefault(
                "initial",
                {
                    "duration_minutes": 50,
                    "buffer_before_minutes": 0,
                    "buffer_after_minutes": 10,
                    "min_notice_hours": Decimal(12),
                    "horizon_days": 60,
                    "slot_step_minutes": 60,
                    "booking": "direct",
                    "brand": ALL_BRANDS,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["brand"].choices = [(ALL_BRANDS, gettext("All my sites"))] + [
            (key, brand.name) for key, brand in self.brands.items()
        ]
        self.fields["brand"].help_text = _(
            "Limit it to one of the sites you are listed on, or offer it on all of them."
        )
        if not scope.own_price_brands:
            del self.fields["price"]
            return
        currencies = sorted({b.currency for b in scope.own_price_brands})
        if len(currencies) == 1:
            self.fields["price"].label = _("Price per session in %(currency)s") % {
                "currency": currencies[0]
            }
        names = ", ".join(b.name for b in scope.own_price_brands)
        self.fields["price"].help_text = _(
            "Used where you set your own price (%(brands)s). Empty: your listing's price there."
        ) % {"brands": names}

    def _initial(self, instance: SessionType) -> dict[str, Any]:
        currency = self._currency(instance.brand)
        return {
            "name": instance.name,
            "duration_minutes": instance.duration_minutes,
            "buffer_before_minutes": instance.buffer_before_minutes,
            "buffer_after_minutes": instance.buffer_after_minutes,
            "min_notice_hours": minutes_as_hours(instance.min_notice_minutes),
            "horizon_days": instance.horizon_days,
            "slot_step_minutes": instance.slot_step_minutes,
            "price": to_major(instance.price_minor, currency) if currency else None,
            "brand": str(instance.brand_id) if instance.brand_id else ALL_BRANDS,
            "booking": "direct" if instance.direct_booking else "invitation",
        }

    def _currency(self, brand: Brand | None) -> str | None:
        if brand is not None:
            return brand.currency
        if self.scope.currency:
            return self.scope.currency
        own = self.scope.own_price_brands
        return own[0].currency if own else None

    def clean_brand(self) -> Brand | None:
        key = self.cleaned_data.get("brand") or ALL_BRANDS
        if key == ALL_BRANDS:
            return None
        if key not in self.brands:
            raise ValidationError(gettext("Choose one of the sites you are listed on."))
        return self.brands[key]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        price = data.get("price")
        if price is not None and "brand" in data:
            try:
                data["price_minor"] = to_minor(price, self._currency(data["brand"]) or "EUR")
            except ValidationError as error:
                self.add_error("price", error)
        return data

    def values(self) -> dict[str, Any]:
        """The cleaned input as the action takes it."""
        data = self.cleaned_data
        notice = (data["min_notice_hours"] * 60).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return {
            "name": data["name"],
            "brand": data.get("brand"),
            "duration_minutes": data["duration_minutes"],
            "buffer_before_minutes": data["buffer_before_minutes"],
            "buffer_after_minutes": data["buffer_after_minutes"],
            "min_notice_minutes": int(notice),
            "horizon_days": data["horizon_days"],
            "slot_step_minutes": data["slot_step_minutes"],
            "price_minor": data.get("price_minor"),
            "direct_booking": data["booking"] == "direct",
        }


# --- periods of a day ---------------------------------------------------------------------


def _time_field(label: Any) -> forms.TimeField:
    return forms.TimeField(
        label=label,
        required=False,
        input_formats=TIME_FORMATS,
        widget=forms.TimeInput(attrs={"type": "time", "step": "300"}, format="%H:%M"),
    )


class PeriodRowsForm(ActionErrorsMixin, forms.Form):
    """Rows of ``from``/``until`` times (and, for weekly hours, a session type). Empty rows
    are ignored; 00:00 as an end means midnight."""

    def __init__(
        self,
        *args: Any,
        rows: int,
        type_choices: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound:
            with contextlib.suppress(TypeError, ValueError):
                rows = int(self.data.get(self.add_prefix("rows"), rows))
        self.row_count = max(1, min(rows, MAX_ROWS))
        self.type_choices = type_choices
        for i in range(self.row_count):
            self.fields[f"start_{i}"] = _time_field(_("From"))
            self.fields[f"end_{i}"] = _time_field(_("Until"))
            if type_choices is not None:
                self.fields[f"type_{i}"] = forms.ChoiceField(
                    label=_("For"), choices=type_choices, required=False
                )

    @property
    def rows_name(self) -> str:
        """The name of the hidden input that tells how many rows were shown."""
        return self.add_prefix("rows")

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The bound fields of each row, for the template."""
        return [
            {
                "number": i + 1,
                "start": self[f"start_{i}"],
                "end": self[f"end_{i}"],
                "type": self[f"type_{i}"] if self.type_choices is not None else None,
            }
            for i in range(self.row_count)
        ]

    def spans(self) -> list[tuple[time, time, str]]:
        """``(from, until, session type key)`` of the filled rows."""
        found = []
        for i in range(self.row_count):
            start = self.cleaned_data.get(f"start_{i}")
            end = self.cleaned_data.get(f"end_{i}")
            if start is None and end is None:
                continue
            found.append((start, end, self.cleaned_data.get(f"type_{i}") or ""))
        return found

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for i in range(self.row_count):
            if f"start_{i}" in self.errors or f"end_{i}" in self.errors:
                continue
            start, end = data.get(f"start_{i}"), data.get(f"end_{i}")
            if (start is None) != (end is None):
                self.add_error(
                    f"start_{i}" if start is None else f"end_{i}",
                    gettext("Period %(number)s needs both a start and an end time.")
                    % {"number": i + 1},
                )
        return data


class WeekdayHoursForm(PeriodRowsForm):
    """One weekday's periods, optionally copied to other weekdays."""

    also = forms.MultipleChoiceField(
        label=_("Also use these hours on"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, weekday: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.weekday = weekday
        self.fields["also"].choices = [
            (str(d), str(name)) for d, name in WEEKDAYS.items() if d != weekday
        ]

    def weekdays(self) -> list[int]:
        return sorted({self.weekday, *(int(d) for d in self.cleaned_data.get("also", []))})


class DateOverrideForm(PeriodRowsForm):
    """One date: a day off, or its own hours, with a note."""

    OFF, HOURS = "off", "hours"

    day = forms.DateField(
        label=_("Date"),
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    kind = forms.ChoiceField(
        label=_("On this date"),
        choices=[
            (OFF, _("Day off: no sessions")),
            (HOURS, _("Work these hours instead of my weekly hours")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note for yourself"),
        max_length=120,
        required=False,
        help_text=_("For example “Holiday” or “Conference”. Patients do not see it."),
    )

    field_order = ["day", "kind"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") == self.HOURS and not self.errors and not self.spans():
            self.add_error("start_0", gettext("Add at least one period, or choose a day off."))
        return data

    def windows(self) -> list[tuple[time, time]]:
        if self.cleaned_data.get("kind") == self.OFF:
            return []
        return [(start, end) for start, end, _t in self.spans()]
