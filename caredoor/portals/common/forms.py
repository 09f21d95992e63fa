from __future__ import annotations

import zoneinfo
from functools import lru_cache

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from caredoor.core.accounts.models import User, normalize_phone


@lru_cache(maxsize=1)
def zone_choices() -> list[tuple[str, str]]:
    zones = sorted(
        z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/")
    )
    return [(z, z.replace("_", " ")) for z in [*zones, "UTC"]]


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=32,
        required=False,
        help_text=_("With the country code, for example +49 30 1234567."),
    )
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False)
    language = forms.ChoiceField(label=_("Language"), required=False)

    def __init__(self, *args, languages: list[str], **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [("", _("Use the site's time zone")), *zone_choices()]
        self.fields["language"].choices = [("", _("Use the site's language"))] + [
            (code, get_language_info(code)["name_local"]) for code in languages
        ]

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"].strip()
        return normalize_phone(raw) if raw else ""


class MagicLinkForm(forms.Form):
    email = forms.EmailField(label=_("Email"))


class AcceptInvitationForm(forms.Form):
    """For a person who has no account yet: name and a password (validated by policy)."""

    name = forms.CharField(label=_("Full name"), max_length=150)
    password1 = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("Password (again)"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict:
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            raise ValidationError({"password2": _("The two passwords differ.")})
        if p1:
            from django.contrib.auth.password_validation import validate_password

            try:
                validate_password(p1, User(email=self.email, name=data.get("name", "")))
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data
