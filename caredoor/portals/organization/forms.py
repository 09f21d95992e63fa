"""Forms of the operator console. They validate input; the core actions change state."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from caredoor.core.accounts.models import Membership, User
from caredoor.core.accounts.policy import GRANTABLE_ROLES, ROLE_SCOPE, Role, Scope
from caredoor.core.accounts.queries import (
    brands_managed_by,
    open_invitations_visible_to,
    organizations_visible_to,
)
from caredoor.core.brands.actions import EDITABLE_FIELDS
from caredoor.core.brands.choices import (
    CURRENCIES,
    CURRENCY_CHOICES,
    BillingModel,
    JourneyMode,
    Module,
    PricingMode,
    SignInMethod,
    Visibility,
)
from caredoor.core.brands.models import Brand
from caredoor.core.brands.theme import HEX
from caredoor.portals.common.forms import zone_choices

LOGO_MAX_BYTES = 1024 * 1024
LOGO_MAX_SIDE = 2048
LOGO_FORMATS = ("PNG", "JPEG", "WEBP")
MAX_PRICE = Decimal("1000000")


class ModelErrorsMixin:
    """Put a model's or an action's ``ValidationError`` on the form's own fields."""

    # model field (or action key) -> form field
    error_fields: dict[str, str] = {}

    def add_action_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)  # type: ignore[attr-defined]
            return
        for key, errors in exc.error_dict.items():
            field = self.error_fields.get(key, key)
            if field == NON_FIELD_ERRORS or field not in self.fields:  # type: ignore[attr-defined]
                field = None
            for error in errors:
                self.add_error(field, error)  # type: ignore[attr-defined]


def clean_logo_upload(upload: Any, name: str) -> ContentFile:
    """Check an uploaded logo and return it re-encoded as a PNG without any metadata.

    Only PNG, JPEG and WebP images are accepted, up to 1 MB and 2048 pixels a side. The
    size is checked before the image is decoded, the dimensions before its pixels are.
    """
    if upload.size > LOGO_MAX_BYTES:
        raise ValidationError(
            _("The logo may be at most 1 MB; this file is %(size)s KB."),
            params={"size": (upload.size + 1023) // 1024},
            code="too_large",
        )
    data = upload.read()
    not_an_image = ValidationError(
        _("Upload a PNG, JPEG or WebP image. This file is not one."), code="invalid_image"
    )
    try:
        with Image.open(io.BytesIO(data), formats=LOGO_FORMATS) as probe:
            width, height = probe.size
            if width > LOGO_MAX_SIDE or height > LOGO_MAX_SIDE:
                raise ValidationError(
                    _("The logo may be at most %(max)s pixels a side; it is %(w)s by %(h)s."),
                    params={"max": LOGO_MAX_SIDE, "w": width, "h": height},
                    code="too_big",
                )
            probe.verify()
        with Image.open(io.BytesIO(data), formats=LOGO_FORMATS) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            image = image.convert("RGBA" if has_alpha else "RGB")
            # A fresh image carries the pixels only: no EXIF, ICC, XMP or text chunks.
            clean = Image.new(image.mode, image.size)
            clean.paste(image)
            out = io.BytesIO()
            clean.save(out, format="PNG", optimize=True)
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        raise not_an_image from None
    return ContentFile(out.getvalue(), name=f"{name}.png")


def minor_units(amount: Decimal, currency: str) -> int:
    exponent = CURRENCIES[currency]
    scaled = amount * (10**exponent)
    if scaled != scaled.to_integral_value():
        raise ValidationError(
            _("%(currency)s prices have at most %(places)s decimal places."),
            params={"currency": currency, "places": exponent},
            code="precision",
        )
    return int(scaled)


def major_units(minor: int | None, currency: str) -> Decimal | None:
    if minor is None:
        return None
    exponent = CURRENCIES.get(currency, 2)
    return (Decimal(minor) / (10**exponent)).quantize(Decimal(1).scaleb(-exponent))


class ColourInput(forms.TextInput):
    input_type = "color"


def language_choices() -> list[tuple[str, str]]:
    return [(code, name) for code, name in settings.LANGUAGES]


class BrandForm(ModelErrorsMixin, forms.Form):
    """Every setting of a brand; ``slug`` and ``primary_host`` only when creating one."""

    error_fields = {"fixed_price_minor": "fixed_price", "host": "primary_host"}

    # Identity
    name = forms.CharField(label=_("Name"), max_length=120)
    slug = forms.SlugField(
        label=_("Short name (slug)"),
        max_length=50,
        help_text=_("Lowercase letters, digits and hyphens; used in file names and reports."),
    )
    primary_host = forms.CharField(
        label=_("Primary host"),
        max_length=253,
        help_text=_("The site's address without https://, for example care.example.com."),
    )
    tagline = forms.CharField(label=_("Tagline"), max_length=200, required=False)
    # Look
    logo = forms.FileField(
        label=_("Logo"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
        help_text=_("PNG, JPEG or WebP, at most 1 MB and 2048 pixels a side; stored as PNG."),
    )
    remove_logo = forms.BooleanField(label=_("Remove the current logo"), required=False)
    primary_color = forms.CharField(
        label=_("Primary colour"),
        max_length=7,
        widget=ColourInput,
        help_text=_("Header and buttons. Text on it must stay readable."),
    )
    accent_color = forms.CharField(
        label=_("Accent colour"),
        max_length=7,
        widget=ColourInput,
        help_text=_("Links and highlights. Text on it must stay readable."),
    )
    # Language and region
    default_language = forms.ChoiceField(label=_("Default language"), choices=language_choices)
    languages = forms.MultipleChoiceField(
        label=_("Offered languages"),
        choices=language_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=zone_choices)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES)
    # Patient journey and money
    journey_mode = forms.ChoiceField(
        label=_("Journey mode"), choices=JourneyMode.choices, widget=forms.RadioSelect
    )
    pricing_mode = forms.ChoiceField(
        label=_("Pricing mode"), choices=PricingMode.choices, widget=forms.RadioSelect
    )
    fixed_price = forms.DecimalField(
        label=_("Fixed price per session"),
        required=False,
        min_value=Decimal(0),
        max_value=MAX_PRICE,
        help_text=_("In the brand's currency, for example 65.00. Needed for one fixed price."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    billing_model = forms.ChoiceField(
        label=_("Billing model"), choices=BillingModel.choices, widget=forms.RadioSelect
    )
    commission_percent = forms.DecimalField(
        label=_("Platform commission (percent)"),
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(100),
        decimal_places=2,
        help_text=_(
            "The platform's share of each session's price; the specialist gets the rest. "
            "A listing may override it."
        ),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    free_first_session = forms.BooleanField(
        label=_("A patient's first session is free"),
        required=False,
        help_text=_("The first session a patient books on this brand, with any specialist."),
    )
    checkout_hold_minutes = forms.IntegerField(
        label=_("Hold a time while the patient pays (minutes)"),
        required=False,
        min_value=5,
        max_value=120,
    )
    # Modules and sign-in
    modules = forms.MultipleChoiceField(
        label=_("Enabled modules"),
        choices=Module.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    sign_in_methods = forms.MultipleChoiceField(
        label=_("Sign-in methods"),
        choices=SignInMethod.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    # Visibility
    visibility = forms.ChoiceField(
        label=_("Who can sign up"), choices=Visibility.choices, widget=forms.RadioSelect
    )
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        help_text=_("An inactive brand's sites answer “not found” to everyone."),
    )

    FIELDSETS = (
        (_("Identity"), ("name", "slug", "primary_host", "tagline")),
        (_("Look"), ("logo", "remove_logo", "primary_color", "accent_color")),
        (_("Language and region"), ("default_language", "languages", "time_zone", "currency")),
        (
            _("Patient journey and money"),
            (
                "journey_mode",
                "pricing_mode",
                "fixed_price",
                "billing_model",
                "commission_percent",
                "free_first_session",
                "checkout_hold_minutes",
            ),
        ),
        (_("Modules and sign-in"), ("modules", "sign_in_methods")),
        (_("Visibility"), ("visibility", "is_active")),
    )

    def __init__(self, *args: Any, brand: Brand | None = None, **kwargs: Any) -> None:
        self.brand = brand
        if brand is not None:
            initial = {
                "name": brand.name,
                "tagline": brand.tagline,
                "primary_color": brand.primary_color,
                "accent_color": brand.accent_color,
                "default_language": brand.default_language,
                "languages": brand.languages,
                "time_zone": brand.time_zone,
                "currency": brand.currency,
                "journey_mode": brand.journey_mode,
                "pricing_mode": brand.pricing_mode,
                "fixed_price": major_units(brand.fixed_price_minor, brand.currency),
                "billing_model": brand.billing_model,
                "commission_percent": brand.commission_percent,
                "free_first_session": brand.free_first_session,
                "checkout_hold_minutes": brand.checkout_hold_minutes,
                "modules": brand.modules,
                "sign_in_methods": brand.sign_in_methods,
                "visibility": brand.visibility,
                "is_active": brand.is_active,
            }
        else:
            initial = {
                "primary_color": "#1f4e79",
                "accent_color": "#0f766e",
                "default_language": settings.LANGUAGE_CODE,
                "languages": [settings.LANGUAGE_CODE],
                "time_zone": "UTC",
                "currency": "EUR",
                "journey_mode": JourneyMode.DIRECTORY,
                "pricing_mode": PricingMode.SPECIALIST_SET,
                "billing_model": BillingModel.PLATFORM,
                "commission_percent": Decimal(20),
                "checkout_hold_minutes": 15,
                "modules": [Module.BOOKING, Module.VIDEO, Module.MESSAGING],
                "sign_in_methods": [SignInMethod.PASSWORD],
                "visibility": Visibility.PUBLIC,
                "is_active": True,
            }
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.fields["tagline"].wide = True  # type: ignore[attr-defined]
        if brand is not None:
            del self.fields["slug"]
            del self.fields["primary_host"]
            if not brand.logo:
                del self.fields["remove_logo"]
        else:
            del self.fields["remove_logo"]

    @property
    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [
            (legend, [self[name] for name in names if name in self.fields])
            for legend, names in self.FIELDSETS
        ]

    def _clean_colour(self, field: str) -> str:
        value = self.cleaned_data[field].strip().lower()
        if not HEX.match(value):
            raise ValidationError(_("Enter a colour as #rrggbb, for example #1d4ed8."))
        return value

    def clean_primary_color(self) -> str:
        return self._clean_colour("primary_color")

    def clean_accent_color(self) -> str:
        return self._clean_colour("accent_color")

    def clean_primary_host(self) -> str:
        return self.cleaned_data["primary_host"].strip().lower()

    def clean_logo(self) -> ContentFile | None:
        upload = self.cleaned_data.get("logo")
        if not upload:
            return None
        slug = self.brand.slug if self.brand else str(self.data.get("slug", ""))
        name = "".join(c for c in slug if c.isascii() and (c.isalnum() or c in "-_"))
        return clean_logo_upload(upload, name[:50] or "brand")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        price, currency = data.get("fixed_price"), data.get("currency")
        if price is not None and currency:
            try:
                data["fixed_price_minor"] = minor_units(price, currency)
            except ValidationError as exc:
                self.add_error("fixed_price", exc)
        elif "fixed_price" in data:
            data["fixed_price_minor"] = None
        # Left empty: the brand's current value (or the default for a new brand).
        for name, default in (("commission_percent", Decimal(20)), ("checkout_hold_minutes", 15)):
            if name in data and data[name] is None:
                data[name] = getattr(self.brand, name) if self.brand is not None else default
        if data.get("logo") and data.get("remove_logo"):
            self.add_error("remove_logo", _("Either upload a new logo or remove it, not both."))
        return data

    def brand_fields(self) -> dict[str, Any]:
        """The cleaned values under the brand's own field names (for the core actions)."""
        data = self.cleaned_data
        # Every editable brand field but the logo, which is handled below.
        fields = {name: data[name] for name in EDITABLE_FIELDS if name != "logo"}
        if data.get("logo"):
            fields["logo"] = data["logo"]
        elif data.get("remove_logo"):
            fields["logo"] = ""
        return fields


class DomainForm(ModelErrorsMixin, forms.Form):
    host = forms.CharField(
        label=_("Alias host"),
        max_length=253,
        help_text=_("Another address for the same site, for example www.care.example.com."),
    )

    def clean_host(self) -> str:
        return self.cleaned_data["host"].strip().lower()


class InviteForm(ModelErrorsMixin, forms.Form):
    """Invite someone to a role the actor may give, in a scope the actor reaches."""

    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"))
    brand = forms.ModelChoiceField(
        label=_("Brand"),
        queryset=Brand.objects.none(),
        required=False,
        empty_label=_("— none —"),
        help_text=_("For patients and affiliates: the brand they join."),
    )
    organization = forms.ModelChoiceField(
        label=_("Organization"),
        queryset=None,
        required=False,
        empty_label=_("— none —"),
        help_text=_("For organization roles. Operators belong to the operator organization."),
    )

    def __init__(self, *args: Any, actor: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        grantable = GRANTABLE_ROLES.get(actor.role, frozenset())
        self.fields["role"].choices = [
            (value, label) for value, label in Role.choices if value in grantable
        ]
        scopes = {ROLE_SCOPE[r] for r in grantable}
        if Scope.BRAND in scopes:
            self.fields["brand"].queryset = brands_managed_by(actor)
        else:
            del self.fields["brand"]
        self.fields["organization"].queryset = organizations_visible_to(actor)
        if Scope.NETWORK in scopes:
            self.fields["role"].help_text = _(
                "Specialists join the whole network: leave brand and organization empty."
            )

    def clean_email(self) -> str:
        return User.objects.normalize_email(self.cleaned_data["email"]).lower()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        role = data.get("role")
        if not role:
            return data
        scope = ROLE_SCOPE[role]
        brand = data.get("brand") if scope == Scope.BRAND else None
        organization = data.get("organization") if scope == Scope.ORGANIZATION else None
        if scope == Scope.BRAND and brand is None:
            self.add_error("brand", _("This role is held on a brand: choose the brand."))
        if scope == Scope.ORGANIZATION and organization is None:
            self.add_error("organization", _("This role is held in an organization: choose it."))
        data["brand"], data["organization"] = brand, organization
        email = data.get("email")
        if email and not self.errors:
            members = Membership.objects.active().filter(
                user__email=email, role=role, brand=brand, organization=organization
            )
            if scope == Scope.NETWORK:
                members = members.filter(network_id=self.actor.network_id)
            if members.exists():
                self.add_error("email", _("This person already has this role here."))
            elif (
                open_invitations_visible_to(self.actor)
                .filter(email=email, role=role, brand=brand, organization=organization)
                .exists()
            ):
                self.add_error(
                    "email",
                    _("An open invitation for this role is already waiting for this person."),
                )
        return data


class MemberFilterForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), required=False)
    q = forms.CharField(label=_("Name or email contains"), required=False, max_length=254)

    def __init__(self, *args: Any, roles: list[tuple[str, str]], **kwargs: Any) -> None:
        # Its own ids: the invitation form on the same page has a "role" field too.
        kwargs.setdefault("auto_id", "filter_%s")
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", _("All roles")), *roles]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class AuditFilterForm(forms.Form):
    action = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=64,
        help_text=_("The start of the action's name, for example brand. or membership.revoked"),
        widget=forms.TextInput(attrs={"placeholder": "brand."}),
    )
    actor = forms.CharField(
        label=_("Actor email"),
        required=False,
        max_length=254,
        help_text=_("Part of the email address of the person who acted."),
    )
    target = forms.CharField(
        label=_("Target"),
        required=False,
        max_length=200,
        help_text=_("Part of the name of what was acted on."),
    )
    brand = forms.ModelChoiceField(
        label=_("Brand"), queryset=Brand.objects.none(), required=False, empty_label=_("All")
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(
        label=_("To"),
        required=False,
        widget=DateInput(),
        help_text=_("Inclusive: events of this whole day are shown."),
    )

    def __init__(self, *args: Any, actor: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands_managed_by(actor)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for ``audit_events`` from the fields that are valid."""
        data = getattr(self, "cleaned_data", {})
        bad = set(self.errors)
        brand = data.get("brand") if "brand" not in bad else None

        def start_of(day: date | None) -> datetime | None:
            if day is None:
                return None
            return timezone.make_aware(datetime.combine(day, time.min))

        until = data.get("date_to") if "date_to" not in bad else None
        return {
            "action": data.get("action", "") if "action" not in bad else "",
            "actor": data.get("actor", "") if "actor" not in bad else "",
            "target": data.get("target", "") if "target" not in bad else "",
            "brand_id": brand.pk if brand else None,
            "since": start_of(data.get("date_from") if "date_from" not in bad else None),
            "until": start_of(until + timedelta(days=1)) if until else None,
        }
