"""The booking-rules form, shared by a brand's rules (organization portal) and a
specialist's overrides on one brand (specialist portal).

Every field may be left empty: it then inherits (a specialist's override inherits the
brand's rule; a brand's rule inherits Caredoor's default), and the inherited value is
shown as the placeholder. ``values()`` is what ``policy_actions`` take.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from caredoor.core.booking import policy
from caredoor.core.booking.models import BookingPolicy, SelfBooking

HOURS_FIELDS = (
    "cancel_notice_hours",
    "reschedule_notice_hours",
    "proposal_expiry_hours",
    "request_response_hours",
)
PERCENT_FIELDS = ("late_cancel_fee_percent", "no_show_fee_percent")
YES, NO = "yes", "no"
REMINDER_MAX_MINUTES = 7 * 24 * 60
REMINDER_MIN_MINUTES = 5
_UNITS = {
    "d": 24 * 60,
    "day": 24 * 60,
    "days": 24 * 60,
    "h": 60,
    "hr": 60,
    "hrs": 60,
    "hour": 60,
    "hours": 60,
    "m": 1,
    "min": 1,
    "mins": 1,
    "minute": 1,
    "minutes": 1,
}
_REMINDER = re.compile(r"^(\d{1,4})\s*([a-z]+)$")


def parse_reminders(text: str) -> list[int] | None:
    """``"24h, 1h"`` -> ``[1440, 60]``; empty -> None (inherit); ``"none"`` -> ``[]``."""
    text = text.strip().lower()
    if not text:
        return None
    if text in ("none", gettext("none").lower(), "-"):
        return []
    minutes = []
    for part in re.split(r"[,;]", text):
        part = part.strip()
        if not part:
            continue
        match = _REMINDER.match(part)
        if match is None or match.group(2) not in _UNITS:
            raise ValidationError(
                _(
                    "“%(part)s” is not a time before the session. Write each one as a number "
                    "with d, h or min, for example “24h, 1h” or “2d, 30min”."
                ),
                params={"part": part},
                code="bad_reminder",
            )
        minutes.append(int(match.group(1)) * _UNITS[match.group(2)])
    if len(minutes) > policy.MAX_REMINDERS:
        raise ValidationError(
            _("At most %(n)s reminders."), params={"n": policy.MAX_REMINDERS}, code="too_many"
        )
    if len(set(minutes)) != len(minutes):
        raise ValidationError(_("The same reminder is given twice."), code="duplicate")
    for value in minutes:
        if not REMINDER_MIN_MINUTES <= value <= REMINDER_MAX_MINUTES:
            raise ValidationError(
                _("Each reminder must be between 5 minutes and 7 days before the session."),
                code="out_of_range",
            )
    return sorted(minutes, reverse=True)


def _in_days(minutes: int) -> bool:
    """Whole days from two days on (a day before reads better as 24 hours)."""
    return minutes % (24 * 60) == 0 and minutes >= 2 * 24 * 60


def format_reminder(minutes: int) -> str:
    if _in_days(minutes):
        return f"{minutes // (24 * 60)}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}min"


def format_reminders(values: list[int] | None) -> str:
    if values is None:
        return ""
    if not values:
        return "none"
    return ", ".join(format_reminder(v) for v in values)


def describe_reminders(values: list[int]) -> str:
    """In words, for people: ``24 hours and 1 hour before``."""
    if not values:
        return gettext("no reminders")
    parts = []
    for minutes in values:
        if _in_days(minutes):
            n = minutes // (24 * 60)
            parts.append(ngettext("%(n)s day", "%(n)s days", n) % {"n": n})
        elif minutes % 60 == 0:
            n = minutes // 60
            parts.append(ngettext("%(n)s hour", "%(n)s hours", n) % {"n": n})
        else:
            parts.append(ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes})
    return gettext("%(times)s before") % {"times": ", ".join(parts)}


def _label(name: str) -> str:
    return capfirst(BookingPolicy._meta.get_field(name).verbose_name)


def _yes_no(value: bool) -> str:
    return gettext("yes") if value else gettext("no")


class BookingPolicyForm(forms.Form):
    self_booking = forms.ChoiceField(required=False)
    cancel_notice_hours = forms.IntegerField(
        required=False, min_value=0, max_value=policy.MAX_NOTICE_HOURS
    )
    reschedule_notice_hours = forms.IntegerField(
        required=False, min_value=0, max_value=policy.MAX_NOTICE_HOURS
    )
    late_cancel_fee_percent = forms.IntegerField(required=False, min_value=0, max_value=100)
    no_show_fee_percent = forms.IntegerField(required=False, min_value=0, max_value=100)
    proposal_expiry_hours = forms.IntegerField(
        required=False, min_value=1, max_value=policy.MAX_NOTICE_HOURS
    )
    proposals_require_payment = forms.ChoiceField(required=False)
    request_response_hours = forms.IntegerField(
        required=False, min_value=1, max_value=policy.MAX_NOTICE_HOURS
    )
    reminders = forms.CharField(
        label=_("Reminders before each session"), required=False, max_length=100
    )

    # action key -> form field
    error_fields = {"reminder_offsets_minutes": "reminders"}

    def __init__(
        self,
        *args: Any,
        inherited: dict[str, Any],
        inherit_label: str,
        with_reminders: bool,
        row: BookingPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        """``inherited``: the values an empty field takes; ``inherit_label``: where they
        come from (``"Brand A"`` or ``"Caredoor's default"``); ``row``: the saved values."""
        if row is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(row)
        super().__init__(*args, **kwargs)
        self.inherited = inherited
        modes = dict(SelfBooking.choices)
        self.fields["self_booking"].label = _label("self_booking")
        self.fields["self_booking"].choices = [
            (
                "",
                gettext("As %(source)s says: %(value)s")
                % {"source": inherit_label, "value": modes[inherited["self_booking"]]},
            ),
            *SelfBooking.choices,
        ]
        self.fields["proposals_require_payment"].label = _label("proposals_require_payment")
        self.fields["proposals_require_payment"].choices = [
            (
                "",
                gettext("As %(source)s says: %(value)s")
                % {
                    "source": inherit_label,
                    "value": _yes_no(inherited["proposals_require_payment"]),
                },
            ),
            (YES, gettext("Yes")),
            (NO, gettext("No")),
        ]
        for name in (*HOURS_FIELDS, *PERCENT_FIELDS):
            field = self.fields[name]
            field.label = _label(name)
            field.widget.attrs["placeholder"] = str(inherited[name])
            field.help_text = gettext("Empty: %(value)s, as %(source)s says.") % {
                "value": inherited[name],
                "source": inherit_label,
            }
        if with_reminders:
            reminders = self.fields["reminders"]
            reminders.widget.attrs["placeholder"] = format_reminders(
                inherited["reminder_offsets_minutes"]
            )
            reminders.help_text = gettext(
                "Comma-separated times before the session, each a number with d, h or min, "
                "for example “24h, 1h”. Up to %(n)s, from 5 minutes to 7 days. “none” sends "
                "no reminders. Empty: %(default)s, as %(source)s says."
            ) % {
                "n": policy.MAX_REMINDERS,
                "default": describe_reminders(inherited["reminder_offsets_minutes"]),
                "source": inherit_label,
            }
        else:
            del self.fields["reminders"]

    @staticmethod
    def initial_from(row: BookingPolicy) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(row, name) for name in (*HOURS_FIELDS, *PERCENT_FIELDS)
        }
        initial["self_booking"] = row.self_booking or ""
        payment = row.proposals_require_payment
        initial["proposals_require_payment"] = "" if payment is None else (YES if payment else NO)
        initial["reminders"] = format_reminders(row.reminder_offsets_minutes)
        return initial

    def clean_reminders(self) -> list[int] | None:
        return parse_reminders(self.cleaned_data.get("reminders") or "")

    def values(self) -> dict[str, Any]:
        """What the save actions take: None for every field left empty (inherit)."""
        data = self.cleaned_data
        values: dict[str, Any] = {name: data.get(name) for name in (*HOURS_FIELDS, *PERCENT_FIELDS)}
        values["self_booking"] = data.get("self_booking") or None
        values["proposals_require_payment"] = {YES: True, NO: False}.get(
            data.get("proposals_require_payment") or ""
        )
        if "reminders" in self.fields:
            values["reminder_offsets_minutes"] = data.get("reminders")
        return values

    def values_for(self, row: BookingPolicy | None) -> dict[str, Any] | None:
        """``values()`` as the save actions take them (an empty choice inherits)."""
        return self.values()

    def add_action_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for key, errors in exc.error_dict.items():
            name: str | None = self.error_fields.get(key, key)
            if name == NON_FIELD_ERRORS or name not in self.fields:
                name = None
            for error in errors:
                self.add_error(name, error)

    @property
    def fieldsets(self) -> list[tuple[str, list[Any]]]:
        groups = [
            (gettext("Booking by patients"), ["self_booking"]),
            (
                gettext("Cancelling and moving"),
                [
                    "cancel_notice_hours",
                    "late_cancel_fee_percent",
                    "no_show_fee_percent",
                    "reschedule_notice_hours",
                ],
            ),
            (
                gettext("Proposals and requests"),
                ["proposal_expiry_hours", "proposals_require_payment", "request_response_hours"],
            ),
        ]
        if "reminders" in self.fields:
            groups.append((gettext("Reminders"), ["reminders"]))
        return [(legend, [self[name] for name in names]) for legend, names in groups]
