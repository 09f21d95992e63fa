"""Notification settings, the same page in every portal (``<portal>:notification_settings``).

A fieldset per kind group with a checkbox per channel: in the app, email, and text
messages when SMS is configured and the person has a phone number. Choices are per brand
(the current one) and saved by ``preferences.do_set_preferences``. Security notices are
always sent; the page says so instead of offering a switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.forms import BoundField
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from caredoor.core.notifications.models import Channel, KindGroup
from caredoor.core.notifications.preferences import LOCKED, choices_of, do_set_preferences
from caredoor.core.notifications.sms import can_text, sms_sender
from caredoor.portals.common.access import PortalContext

DESCRIPTIONS = {
    KindGroup.MESSAGES: gettext_lazy(
        "New messages in your conversations. Emails come as one summary when you were not "
        "online, and never contain what was written."
    ),
    KindGroup.BOOKINGS: gettext_lazy(
        "Bookings, proposed times, changes, cancellations and requests for a time."
    ),
    KindGroup.REMINDERS: gettext_lazy("Reminders before your sessions."),
    KindGroup.DOCUMENTS: gettext_lazy("Documents and consents to read or sign."),
}


def field_name(group: str, channel: str) -> str:
    return f"{group}__{channel}"


@dataclass
class Section:
    group: str
    label: str
    description: str
    fields: list[BoundField]


class PreferencesForm(forms.Form):
    """One checkbox per choosable (group, channel) among ``channels``."""

    def __init__(self, *args: Any, channels: list[str], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.channels = channels
        for group in self.groups():
            for channel in channels:
                self.fields[field_name(group, channel)] = forms.BooleanField(
                    required=False, label=Channel(channel).label
                )

    @staticmethod
    def groups() -> list[str]:
        return [group for group in KindGroup.values if group not in LOCKED]

    def values(self) -> dict[tuple[str, str], bool]:
        return {
            (group, channel): bool(self.cleaned_data.get(field_name(group, channel)))
            for group in self.groups()
            for channel in self.channels
        }

    def sections(self) -> list[Section]:
        return [
            Section(
                group=group,
                label=str(KindGroup(group).label),
                description=str(DESCRIPTIONS.get(group, "")),
                fields=[self[field_name(group, channel)] for channel in self.channels],
            )
            for group in self.groups()
        ]


def notification_settings(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    user: Any = request.user
    brand = ctx.brand
    if brand is None:  # the operator console on a platform host: choices are per brand
        return render(request, "common/notification_settings.html", {"ctx": ctx, "form": None})
    channels = [Channel.IN_APP, Channel.EMAIL]
    if can_text(user):
        channels.append(Channel.SMS)
    current = choices_of(user, brand)
    form = PreferencesForm(
        request.POST or None,
        channels=channels,
        initial={field_name(g, c): value for (g, c), value in current.items()},
    )
    if request.method == "POST" and form.is_valid():
        changed = do_set_preferences(user, brand, form.values(), role=ctx.role, request=request)
        messages.success(
            request,
            _("Your notification settings were saved.") if changed else _("Nothing changed."),
        )
        return redirect(request.path)
    return render(
        request,
        "common/notification_settings.html",
        {
            "ctx": ctx,
            "form": form,
            "sections": form.sections(),
            "sms_offered": Channel.SMS in channels,
            "sms_needs_phone": sms_sender().enabled and not user.phone,
            "account_url": f"{ctx.portal}:account",
            "notifications_url": f"{ctx.portal}:notifications",
        },
    )
