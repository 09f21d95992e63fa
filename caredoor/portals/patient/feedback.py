"""Feedback after a completed session: a short form, every question optional, skippable.

``/feedback/<booking_id>/`` (URL name ``patient:feedback``) accepts a safe ``?next=`` and
sends the patient back there when done. The booking is fetched through
``feedback.queries.access_feedback_booking``: another person's booking, another brand's or
one that is not completed is 404, for GET and POST alike.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods

from caredoor.core.accounts.policy import Portal
from caredoor.core.feedback import actions
from caredoor.core.feedback.models import FeedbackSettings
from caredoor.core.feedback.queries import access_feedback_booking, response_for, settings_for
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.common.next_url import safe_next
from caredoor.portals.patient import booking_display as show

PORTAL = Portal.PATIENT

SATISFACTION = [
    ("1", gettext_lazy("Very dissatisfied")),
    ("2", gettext_lazy("Dissatisfied")),
    ("3", gettext_lazy("Neither")),
    ("4", gettext_lazy("Satisfied")),
    ("5", gettext_lazy("Very satisfied")),
]
PROGRESS = [
    ("1", gettext_lazy("Much worse")),
    ("2", gettext_lazy("A little worse")),
    ("3", gettext_lazy("About the same")),
    ("4", gettext_lazy("A little better")),
    ("5", gettext_lazy("Much better")),
]
NPS = [(str(n), str(n)) for n in range(11)]


class FeedbackForm(forms.Form):
    """The brand's questions only; every one optional."""

    satisfaction = forms.TypedChoiceField(
        label=gettext_lazy("How satisfied are you with this session?"),
        choices=SATISFACTION,
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    progress = forms.TypedChoiceField(
        label=gettext_lazy("Compared with before, how are things?"),
        choices=PROGRESS,
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    nps = forms.TypedChoiceField(
        label=gettext_lazy("How likely are you to recommend %(brand)s to a friend or colleague?"),
        choices=NPS,
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
        help_text=pgettext_lazy(
            "the scale of the recommendation question",
            "0 means not at all likely, 10 extremely likely.",
        ),
    )
    comment = forms.CharField(
        label=gettext_lazy("Anything you would like to tell us? (optional)"),
        required=False,
        max_length=actions.COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Read by the care quality team, not shown to your specialist. "
            "For anything urgent, contact your specialist or emergency services."
        ),
    )

    def __init__(self, *args: Any, config: FeedbackSettings, brand_name: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        keep = {
            "satisfaction": config.ask_satisfaction,
            "progress": config.ask_progress,
            "nps": config.ask_nps,
            "comment": config.allow_comment,
        }
        for name, asked in keep.items():
            if not asked:
                del self.fields[name]
        if "nps" in self.fields:
            self.fields["nps"].label = self.fields["nps"].label % {"brand": brand_name}

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.fields}

    def add_action_errors(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for name, errors in error.message_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, error.messages)


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next")
    return safe_next(request, wanted) or reverse("patient:dashboard")


@portal_view(PORTAL)
@require_http_methods(["GET", "POST"])
def give_feedback(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    brand = ctx.brand
    booking = access_feedback_booking(request.user, brand, booking_id)
    next_url = _next_url(request)
    if response_for(booking) is not None:
        messages.info(request, _("You already gave feedback on this session. Thank you!"))
        return redirect(next_url)
    config = settings_for(brand)
    form = FeedbackForm(
        request.POST if request.method == "POST" else None,
        config=config,
        brand_name=brand.name,
    )
    if request.method == "POST":
        try:
            if request.POST.get("action") == "skip":
                actions.do_skip_feedback(booking, patient=request.user, request=request)
                messages.info(request, _("No problem: we will not ask about this session again."))
                return redirect(next_url)
            if form.is_valid():
                actions.do_give_feedback(
                    booking, patient=request.user, request=request, **form.values()
                )
                messages.success(request, _("Thank you for your feedback."))
                return redirect(next_url)
        except actions.AlreadyAnswered as exc:
            messages.info(request, exc.messages[0])
            return redirect(next_url)
        except ValidationError as exc:
            form.add_action_errors(exc)
    zone = ZoneInfo(show.viewer_zone_name(request))
    return render(
        request,
        "patient/feedback/form.html",
        {
            "ctx": ctx,
            "booking": booking,
            "form": form,
            "next_url": next_url,
            "specialist": show.specialist_name(booking),
            "when": show.when(booking.start, zone),
        },
        status=400 if form.errors else 200,
    )
