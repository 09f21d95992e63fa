"""Forms of the specialist portal. They validate input; the core actions change state.

``StepForm`` is built from one onboarding step: every field of the catalogue
(``PROFILE_FIELDS``) knows which form fields it needs, how to fill them from the profile
and how to turn the cleaned input back into the value ``do_save_step`` stores.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.password_validation import (
    password_validators_help_texts,
    validate_password,
)
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from caredoor.core.accounts.models import User, normalize_phone
from caredoor.core.brands.choices import CURRENCIES
from caredoor.core.compliance.uploads import (
    DOCUMENT_TYPES,
    IMAGE_TYPES,
    MB,
    CheckedUpload,
    check_upload,
)
from caredoor.core.specialists.actions import has_value
from caredoor.core.specialists.choices import (
    PROFILE_FIELDS,
    SPOKEN_LANGUAGES,
    AgeGroup,
    DocumentKind,
    SessionFormat,
    TermKind,
)
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.core.specialists.queries import terms_for
from caredoor.core.specialists.scheme import Step
from caredoor.portals.common.forms import zone_choices
from caredoor.portals.common.specialist_public import VIDEO_SITES, is_allowed_video_url

PHOTO_MAX_BYTES = 5 * MB
PHOTO_MAX_SIDE = 4096
DOCUMENT_MAX_BYTES = 10 * MB
EDUCATION_ROWS = 5
EARLIEST_YEAR = 1950
MAX_TAGS = 15
MAX_TAG_LENGTH = 40
MAX_PRICE = Decimal("100000")
IMAGE_ACCEPT = "image/png,image/jpeg,image/webp"
DOCUMENT_ACCEPT = "application/pdf,image/png,image/jpeg,image/webp"


class ActionErrorsMixin:
    """Put an action's ``ValidationError`` on the form's own fields where it names one."""

    error_fields: dict[str, str] = {}

    def add_action_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)  # type: ignore[attr-defined]
            return
        for key, errors in exc.error_dict.items():
            name: str | None = self.error_fields.get(key, key)
            if name == NON_FIELD_ERRORS or name not in self.fields:  # type: ignore[attr-defined]
                name = None
            for error in errors:
                self.add_error(name, error)  # type: ignore[attr-defined]


# --- registration ------------------------------------------------------------------------------


class RegisterForm(forms.Form):
    """A visitor's account and specialist registration in one go."""

    email = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    name = forms.CharField(
        label=_("Full name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        help_text=_("Shown to patients; you can change it in your profile."),
    )
    password1 = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("Password (again)"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password1"].help_text = " ".join(password_validators_help_texts())

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exists():
            # The same fact allauth's own sign-up form states: the address is taken.
            raise ValidationError(
                _(
                    "An account with this email address already exists. Sign in first, "
                    "then come back to this page to join as a specialist."
                ),
                code="email_taken",
            )
        return email

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            try:
                validate_password(p1, User(email=data.get("email", ""), name=data.get("name", "")))
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data


# --- onboarding steps ----------------------------------------------------------------------------


def _yes_no() -> list[tuple[str, Any]]:
    return [("yes", _("Yes")), ("no", _("No"))]


def parse_tags(raw: str) -> list[str]:
    """Comma- or line-separated tags, trimmed, without empty ones or repeats (any case)."""
    seen: set[str] = set()
    tags = []
    for part in re.split(r"[,\n;]", raw):
        tag = " ".join(part.split())
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    return tags


def _education_fields(i: int) -> tuple[str, str, str]:
    return (f"education_{i}_degree", f"education_{i}_institution", f"education_{i}_year")


class StepForm(ActionErrorsMixin, forms.Form):
    """One onboarding step's fields, built from the step; ``values()`` feeds ``do_save_step``.

    ``groups`` lists the step's catalogue fields in order, each with its form fields, so the
    template renders compound ones (practice preferences, education) as one fieldset.
    """

    error_fields = {f: f for f in PROFILE_FIELDS}

    def __init__(
        self,
        *args: Any,
        step: Step,
        profile: SpecialistProfile,
        enforce_required: bool = False,
        **kwargs: Any,
    ) -> None:
        self.step = step
        self.profile = profile
        self.enforce_required = enforce_required
        self.notes: dict[str, str] = {
            k: str(v) for k, v in (profile.requested_changes or {}).items() if k in step.fields
        }
        self.members: dict[str, list[str]] = {}
        super().__init__(*args, **kwargs)
        for name in step.fields:
            if name == "documents":
                continue  # uploaded one by one in their own form
            builder = getattr(self, f"_add_{name}")
            before = set(self.fields)
            self.initial.update(builder())
            self.members[name] = [f for f in self.fields if f not in before]
        self._describe()

    # -- the catalogue, field by field --

    def _add_display_name(self) -> dict[str, Any]:
        self.fields["display_name"] = forms.CharField(
            label=PROFILE_FIELDS["display_name"].label,
            max_length=120,
            required=False,
            help_text=_("As patients will read it, for example “Dr. Anna Weber”."),
        )
        return {"display_name": self.profile.display_name}

    def _add_professional_title(self) -> dict[str, Any]:
        self.fields["professional_title"] = forms.CharField(
            label=PROFILE_FIELDS["professional_title"].label,
            max_length=120,
            required=False,
            help_text=_("For example “Licensed psychotherapist (CBT)”."),
        )
        return {"professional_title": self.profile.professional_title}

    def _add_time_zone(self) -> dict[str, Any]:
        self.fields["time_zone"] = forms.ChoiceField(
            label=PROFILE_FIELDS["time_zone"].label,
            required=False,
            choices=[("", _("Choose your time zone")), *zone_choices()],
            help_text=_("Your working hours and sessions are shown in this zone."),
        )
        return {"time_zone": self.profile.time_zone}

    def _add_phone(self) -> dict[str, Any]:
        self.fields["phone"] = forms.CharField(
            label=PROFILE_FIELDS["phone"].label,
            max_length=32,
            required=False,
            widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
            help_text=_(
                "With the country code, for example +49 30 1234567. Only the team sees it."
            ),
        )
        return {"phone": self.profile.phone}

    def _add_practice_preferences(self) -> dict[str, Any]:
        prefs = self.profile.practice_preferences or {}
        self.fields["session_formats"] = forms.MultipleChoiceField(
            label=_("Session formats you offer"),
            choices=SessionFormat.choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )
        self.fields["accepts_new_patients"] = forms.ChoiceField(
            label=_("Are you taking new patients?"),
            choices=_yes_no,
            required=False,
            widget=forms.RadioSelect,
        )
        self.fields["age_groups"] = forms.MultipleChoiceField(
            label=_("Age groups you work with"),
            choices=AgeGroup.choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )
        accepts = prefs.get("accepts_new_patients")
        return {
            "session_formats": prefs.get("session_formats", []),
            "accepts_new_patients": "" if accepts is None else ("yes" if accepts else "no"),
            "age_groups": prefs.get("age_groups", []),
        }

    def _add_languages(self) -> dict[str, Any]:
        choices = sorted(((c, n) for c, n in SPOKEN_LANGUAGES.items()), key=lambda c: str(c[1]))
        self.fields["languages"] = forms.MultipleChoiceField(
            label=PROFILE_FIELDS["languages"].label,
            choices=choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )
        return {"languages": self.profile.languages}

    def _add_education(self) -> dict[str, Any]:
        existing = [e for e in (self.profile.education or []) if isinstance(e, dict)]
        rows = max(EDUCATION_ROWS, len(existing))
        this_year = date.today().year
        initial: dict[str, Any] = {}
        for i in range(rows):
            degree, institution, year = _education_fields(i)
            self.fields[degree] = forms.CharField(label=_("Degree"), max_length=120, required=False)
            self.fields[institution] = forms.CharField(
                label=_("Institution"), max_length=160, required=False
            )
            self.fields[year] = forms.IntegerField(
                label=_("Year"),
                required=False,
                min_value=EARLIEST_YEAR,
                max_value=this_year,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
                error_messages={
                    "min_value": _("Enter a year from %(first)s to %(last)s.")
                    % {"first": EARLIEST_YEAR, "last": this_year},
                    "max_value": _("Enter a year from %(first)s to %(last)s.")
                    % {"first": EARLIEST_YEAR, "last": this_year},
                    "invalid": _("Enter a year as four digits, for example 2012."),
                },
            )
            if i < len(existing):
                entry = existing[i]
                initial[degree] = entry.get("degree", "")
                initial[institution] = entry.get("institution", "")
                initial[year] = entry.get("year")
        return initial

    def _add_terms(self, name: str, kind: str, help_text: Any) -> dict[str, Any]:
        self.fields[name] = forms.ModelMultipleChoiceField(
            label=PROFILE_FIELDS[name].label,
            queryset=terms_for(self.profile.network_id, kind),
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text=help_text,
        )
        return {name: list(getattr(self.profile, name).values_list("pk", flat=True))}

    def _add_specializations(self) -> dict[str, Any]:
        return self._add_terms(
            "specializations",
            TermKind.SPECIALIZATION,
            _("Patients filter by these. Choose what you are trained for."),
        )

    def _add_categories(self) -> dict[str, Any]:
        return self._add_terms("categories", TermKind.CATEGORY, "")

    def _add_expertise(self) -> dict[str, Any]:
        self.fields["expertise"] = forms.CharField(
            label=PROFILE_FIELDS["expertise"].label,
            required=False,
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text=_(
                "Separate them with commas or put one per line: at most %(count)s, "
                "each up to %(length)s characters."
            )
            % {"count": MAX_TAGS, "length": MAX_TAG_LENGTH},
        )
        return {"expertise": ", ".join(self.profile.expertise or [])}

    def _add_bio(self) -> dict[str, Any]:
        self.fields["bio"] = forms.CharField(
            label=PROFILE_FIELDS["bio"].label,
            max_length=4000,
            required=False,
            widget=forms.Textarea(attrs={"rows": 8}),
            help_text=_("Up to 4000 characters. Plain text; an empty line starts a new paragraph."),
        )
        return {"bio": self.profile.bio}

    def _add_photo(self) -> dict[str, Any]:
        self.fields["photo"] = forms.FileField(
            label=PROFILE_FIELDS["photo"].label,
            required=False,
            widget=forms.FileInput(attrs={"accept": IMAGE_ACCEPT}),
            help_text=_(
                "A friendly portrait: PNG, JPEG or WebP, at most 5 MB and 4096 pixels a side. "
                "We remove the photo's metadata (such as location) before storing it."
            ),
        )
        return {}

    def _add_intro_video_url(self) -> dict[str, Any]:
        self.fields["intro_video_url"] = forms.URLField(
            label=PROFILE_FIELDS["intro_video_url"].label,
            required=False,
            max_length=200,
            assume_scheme="https",
            help_text=_("Optional. A https:// link to a video on %(sites)s.")
            % {"sites": VIDEO_SITES},
        )
        return {"intro_video_url": self.profile.intro_video_url}

    # -- validation --

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"].strip()
        return normalize_phone(raw) if raw else ""

    def clean_expertise(self) -> list[str]:
        tags = parse_tags(self.cleaned_data["expertise"])
        if len(tags) > MAX_TAGS:
            raise ValidationError(
                _("At most %(count)s areas, please; you entered %(given)s.")
                % {"count": MAX_TAGS, "given": len(tags)}
            )
        too_long = [t for t in tags if len(t) > MAX_TAG_LENGTH]
        if too_long:
            raise ValidationError(
                _("Each area may have at most %(length)s characters: “%(tag)s” is longer.")
                % {"length": MAX_TAG_LENGTH, "tag": too_long[0][:60]}
            )
        return tags

    def clean_photo(self) -> CheckedUpload | None:
        upload = self.cleaned_data.get("photo")
        if not upload:
            return None
        return check_upload(
            upload, allowed=IMAGE_TYPES, max_bytes=PHOTO_MAX_BYTES, max_side=PHOTO_MAX_SIDE
        )

    def clean_intro_video_url(self) -> str:
        url = self.cleaned_data["intro_video_url"].strip()
        if url and not is_allowed_video_url(url):
            raise ValidationError(
                _("Link a video on %(sites)s, with an address starting https://.")
                % {"sites": VIDEO_SITES}
            )
        return url

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "education" in self.members:
            self._clean_education(data)
        if self.enforce_required:
            for name in self.step.required:
                if name in self.members and not self._filled(name, data):
                    target = self.members[name][0] if self.members[name] else None
                    if target and target not in self.errors:
                        self.add_error(target, self.required_message(name))
        return data

    def _clean_education(self, data: dict[str, Any]) -> None:
        rows = []
        for i in range(len(self.members["education"]) // 3):
            degree_f, institution_f, year_f = _education_fields(i)
            if any(f in self.errors for f in (degree_f, institution_f, year_f)):
                continue
            degree = (data.get(degree_f) or "").strip()
            institution = (data.get(institution_f) or "").strip()
            year = data.get(year_f)
            if not (degree or institution or year):
                continue  # a blank row is dropped
            if not degree:
                self.add_error(degree_f, _("Name the degree, or clear this row."))
            if not institution:
                self.add_error(institution_f, _("Name the institution, or clear this row."))
            rows.append({"degree": degree, "institution": institution, "year": year})
        data["education"] = rows

    def _filled(self, name: str, data: dict[str, Any]) -> bool:
        if name == "photo":
            return bool(data.get("photo")) or has_value(self.profile, "photo")
        if name == "practice_preferences":
            return bool(data.get("session_formats"))
        return bool(data.get(name))

    @staticmethod
    def required_message(name: str) -> str:
        if name == "practice_preferences":
            return gettext("Choose at least one session format.")
        if name == "photo":
            return gettext("Upload a photo.")
        return gettext("Please fill in this field.")

    # -- output --

    def values(self) -> dict[str, Any]:
        """The cleaned values by catalogue field, as ``do_save_step`` stores them; a new
        photo is a ``CheckedUpload`` the view stores first (absent: the photo stays)."""
        data = self.cleaned_data
        out: dict[str, Any] = {}
        for name in self.members:
            if name == "practice_preferences":
                accepts = data.get("accepts_new_patients")
                prefs: dict[str, Any] = {
                    "session_formats": data.get("session_formats", []),
                    "age_groups": data.get("age_groups", []),
                }
                if accepts:
                    prefs["accepts_new_patients"] = accepts == "yes"
                out[name] = prefs
            elif name in ("specializations", "categories"):
                out[name] = list(data.get(name) or [])
            elif name == "photo":
                if data.get("photo") is not None:
                    out[name] = data["photo"]
            else:
                out[name] = data.get(name)
        return out

    # -- presentation --

    def note_id(self, name: str) -> str:
        return f"note_{name}"

    def _describe(self) -> None:
        """aria-describedby on every input: the reviewer's note, help text and errors."""
        errors = self._errors or {}  # never trigger validation from here
        for name, members in self.members.items():
            for member in members:
                field = self.fields[member]
                if isinstance(field.widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
                    continue  # their fieldset carries the description
                auto_id = self[member].auto_id
                ids = []
                if name in self.notes:
                    ids.append(self.note_id(name))
                if field.help_text:
                    ids.append(f"{auto_id}_helptext")
                if member in errors:
                    ids.append(f"{auto_id}_error")
                if ids:
                    field.widget.attrs["aria-describedby"] = " ".join(ids)
                else:
                    field.widget.attrs.pop("aria-describedby", None)

    def _post_clean(self) -> None:
        super()._post_clean()
        self._describe()

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        self._describe()  # errors added after validation (by the view) are described too

    def _education_rows_shown(self, rows: list[list[Any]]) -> int:
        """The filled rows plus one empty one; the other empty rows wait behind a toggle."""
        used = 0
        for i, row in enumerate(rows, start=1):
            if any(bf.value() not in (None, "") or bf.errors for bf in row):
                used = i
        return min(len(rows), used + 1)

    @property
    def groups(self) -> list[dict[str, Any]]:
        out = []
        for name in self.step.fields:
            group: dict[str, Any] = {
                "name": name,
                "label": PROFILE_FIELDS[name].label,
                "required": name in self.step.required,
                "note": self.notes.get(name, ""),
                "note_id": self.note_id(name),
                "describe_id": self.note_id(name) if name in self.notes else "",
                "fields": [self[m] for m in self.members.get(name, [])],
            }
            if name == "education":
                fields = group["fields"]
                rows = [
                    {"number": i // 3 + 1, "fields": fields[i : i + 3]}
                    for i in range(0, len(fields), 3)
                ]
                shown = self._education_rows_shown([r["fields"] for r in rows])
                group["rows"], group["extra_rows"] = rows[:shown], rows[shown:]
            out.append(group)
        return out


# --- documents -----------------------------------------------------------------------------------


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of document"), choices=DocumentKind.choices)
    title = forms.CharField(
        label=_("Title"),
        max_length=120,
        help_text=_("For example “Licence to practise, Berlin chamber”."),
    )
    file = forms.FileField(
        label=_("File"),
        widget=forms.FileInput(attrs={"accept": DOCUMENT_ACCEPT}),
        help_text=_("PDF, PNG, JPEG or WebP, at most 10 MB. Only you and the reviewers see it."),
    )

    def clean_title(self) -> str:
        return " ".join(self.cleaned_data["title"].split())

    def clean_file(self) -> CheckedUpload:
        return check_upload(
            self.cleaned_data["file"], allowed=DOCUMENT_TYPES, max_bytes=DOCUMENT_MAX_BYTES
        )


# --- listings ------------------------------------------------------------------------------------


def to_minor(amount: Decimal, currency: str) -> int:
    exponent = CURRENCIES.get(currency, 2)
    scaled = amount * (10**exponent)
    if scaled != scaled.to_integral_value():
        raise ValidationError(
            _("Prices in %(currency)s have at most %(places)s decimal places.")
            % {"currency": currency, "places": exponent}
        )
    return int(scaled)


def to_major(minor: int | None, currency: str) -> Decimal | None:
    if minor is None:
        return None
    exponent = CURRENCIES.get(currency, 2)
    return (Decimal(minor) / (10**exponent)).quantize(Decimal(1).scaleb(-exponent))


class ListingForm(ActionErrorsMixin, forms.Form):
    """Session offer, and the price where the specialist sets it on this brand."""

    error_fields = {"price_minor": "price", "session_offer": "session_offer"}

    session_offer = forms.CharField(
        label=_("Session offer"),
        max_length=200,
        required=False,
        help_text=_("What patients book on this brand, for example “50-minute video session”."),
    )
    price = forms.DecimalField(
        label=_("Price per session"),
        min_value=Decimal("0.01"),
        max_value=MAX_PRICE,
        max_digits=12,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, currency: str, sets_price: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        if sets_price:
            example = to_major(8000, currency)  # 80.00 EUR, 8000 JPY
            self.fields["price"].label = _("Price per session in %(currency)s") % {
                "currency": currency
            }
            self.fields["price"].help_text = _("For example %(example)s.") % {"example": example}
        else:
            del self.fields["price"]

    def clean_price(self) -> int:
        return to_minor(self.cleaned_data["price"], self.currency)

    @property
    def price_minor(self) -> int | None:
        return self.cleaned_data.get("price") if "price" in self.fields else None
