"""Forms of the organization portal's specialist pages: review decisions, the relationship,
listings, the onboarding steps and the network's terms. They validate input; the core
actions change state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import slugify
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from caredoor.core.accounts.models import Membership
from caredoor.core.accounts.policy import Role
from caredoor.core.accounts.queries import brands_managed_by, organizations_visible_to
from caredoor.core.specialists.choices import (
    PROFILE_FIELDS,
    ListingStatus,
    PricingControl,
    Relationship,
    TermKind,
)
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.core.specialists.scheme import Step, validate_steps
from caredoor.portals.organization.forms import MAX_PRICE, ModelErrorsMixin, minor_units

NOTE_MAX = 500
REASON_MAX = 2000
STEP_SLOTS = 8
TITLE_MAX = 80


# --- review --------------------------------------------------------------------------------


class RequestChangesForm(forms.Form):
    """A checkbox per catalogue field and a note for each field that is ticked."""

    prefix = "changes"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in PROFILE_FIELDS.items():
            self.fields[name] = forms.BooleanField(label=field.label, required=False)
            self.fields[f"{name}_note"] = forms.CharField(
                label=_("What should change in “%(field)s”?") % {"field": field.label},
                max_length=NOTE_MAX,
                required=False,
                # The placeholder lets the stylesheet hide an empty note until its box is
                # ticked (:placeholder-shown); without CSS every note shows.
                widget=forms.TextInput(attrs={"placeholder": _("What should change?")}),
            )

    @property
    def rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[name], self[f"{name}_note"]) for name in PROFILE_FIELDS]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        notes: dict[str, str] = {}
        for name in PROFILE_FIELDS:
            if f"{name}_note" in self.errors:
                continue
            ticked, note = data.get(name), (data.get(f"{name}_note") or "").strip()
            if ticked and not note:
                self.add_error(f"{name}_note", _("Say what should change in this field."))
            elif note and not ticked:
                self.add_error(name, _("Tick this field, or clear its note."))
            elif ticked:
                notes[name] = note
        if not notes and not self.errors:
            raise ValidationError(_("Name at least one field that needs changes."))
        self.notes = notes
        return data


class RejectForm(forms.Form):
    prefix = "reject"

    reason = forms.CharField(
        label=_("Reason for the rejection"),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The specialist reads this in the email about your decision."),
        error_messages={"required": _("Give the specialist a reason for the rejection.")},
    )


class RelationshipForm(ModelErrorsMixin, forms.Form):
    """Who onboards the specialist, on what terms, and who sets their prices.

    Operators may move a specialist to any organization of the network; an organization's
    admin keeps the specialist in their own organization (the field is fixed for them).
    """

    prefix = "rel"
    error_fields = {"onboarded_by": "organization"}

    organization = forms.ModelChoiceField(
        label=_("Onboarding organization"), queryset=None, empty_label=None
    )
    relationship = forms.ChoiceField(
        label=_("Relationship"), choices=Relationship.choices, widget=forms.RadioSelect
    )
    pricing_control = forms.ChoiceField(
        label=_("Who sets the prices"),
        choices=PricingControl.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "On brands with one fixed price, the brand's price applies whatever is chosen here."
        ),
    )

    def __init__(
        self, *args: Any, profile: SpecialistProfile, actor: Membership, **kwargs: Any
    ) -> None:
        kwargs.setdefault(
            "initial",
            {
                "organization": profile.onboarded_by_id,
                "relationship": profile.relationship,
                "pricing_control": profile.pricing_control,
            },
        )
        super().__init__(*args, **kwargs)
        self.profile, self.actor = profile, actor
        field = self.fields["organization"]
        field.queryset = organizations_visible_to(actor)
        if actor.role != Role.OPERATOR:
            # Disabled: the posted value is ignored and the current organization kept.
            field.disabled = True
            field.help_text = _(
                "Only the network's operator can move a specialist to another organization."
            )

    def clean_organization(self) -> Any:
        organization = self.cleaned_data["organization"]
        if self.actor.role != Role.OPERATOR and organization.pk != self.profile.onboarded_by_id:
            raise ValidationError(
                _("Only the network's operator can move a specialist to another organization.")
            )
        return organization


# --- listings --------------------------------------------------------------------------------


class ListingFilterForm(forms.Form):
    brand = forms.ModelChoiceField(
        label=_("Brand"), queryset=None, required=False, empty_label=_("All brands")
    )
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args: Any, actor: Membership, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "filter_%s")
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands_managed_by(actor).order_by("name")
        self.fields["status"].choices = [("", _("All statuses")), *ListingStatus.choices]


class ListingStatusForm(forms.Form):
    """Approve, hide or remove a listing (the button pressed names the status)."""

    status = forms.ChoiceField(
        choices=[
            (ListingStatus.APPROVED, _("Approve")),
            (ListingStatus.HIDDEN, _("Hide")),
            (ListingStatus.REMOVED, _("Remove")),
        ]
    )
    note = forms.CharField(
        label=_("Note to the specialist (optional)"),
        max_length=300,
        required=False,
    )

    def __init__(self, *args: Any, listing_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"listing{listing_id}_%s")
        super().__init__(*args, **kwargs)


class ListingPriceForm(ModelErrorsMixin, forms.Form):
    error_fields = {"price_minor": "price"}

    price = forms.DecimalField(
        label=_("Price per session"),
        min_value=Decimal("0.01"),
        max_value=MAX_PRICE,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        error_messages={"required": _("Enter the price for this brand.")},
    )

    def __init__(self, *args: Any, listing_id: int, currency: str, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"price{listing_id}_%s")
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.fields["price"].help_text = _("In %(currency)s, for example 80.00.") % {
            "currency": currency
        }

    def clean_price(self) -> Decimal:
        price = self.cleaned_data["price"]
        self.cleaned_data["price_minor"] = minor_units(price, self.currency)
        return price


class ListingBillingForm(ModelErrorsMixin, forms.Form):
    """A listing's commission override and, on hybrid brands, Stripe Connect billing."""

    commission = forms.DecimalField(
        label=_("Commission override (percent)"),
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(100),
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    connect = forms.BooleanField(
        label=_("Charged to the specialist's Stripe account (Stripe Connect)"), required=False
    )
    error_fields = {"commission_percent": "commission"}

    def __init__(
        self, *args: Any, listing_id: int, brand_percent: Decimal, hybrid: bool, **kwargs: Any
    ) -> None:
        kwargs.setdefault("auto_id", f"billing{listing_id}_%s")
        super().__init__(*args, **kwargs)
        self.fields["commission"].help_text = _("Empty: the brand's %(percent)s %%.") % {
            "percent": brand_percent
        }
        if not hybrid:
            del self.fields["connect"]


# --- onboarding steps ------------------------------------------------------------------------


def _step_key(title: str, taken: set[str], slot: int) -> str:
    base = slugify(title).replace("-", "_")[:30].strip("_") or f"step_{slot}"
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}_{n}"
    return key


class SchemeForm(forms.Form):
    """Onboarding steps as a plain form: up to ``STEP_SLOTS`` step titles with an order
    number (a blank title is an unused slot), and for every catalogue field the step that
    asks for it (or none) and whether it is required."""

    def __init__(self, *args: Any, steps: list[Step], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slot_count = max(STEP_SLOTS, len(steps))
        slot_of = {f: i for i, step in enumerate(steps, start=1) for f in step.fields}
        required = {f for step in steps for f in step.required}
        for i in range(1, self.slot_count + 1):
            step = steps[i - 1] if i <= len(steps) else None
            self.fields[f"step{i}_key"] = forms.CharField(
                widget=forms.HiddenInput, required=False, max_length=40
            )
            self.fields[f"step{i}_title"] = forms.CharField(
                label=_("Title of step slot %(n)s") % {"n": i},
                max_length=TITLE_MAX,
                required=False,
            )
            self.fields[f"step{i}_position"] = forms.IntegerField(
                label=_("Order of step slot %(n)s") % {"n": i},
                min_value=1,
                max_value=99,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
                error_messages={"required": _("Give every slot an order number.")},
            )
            self.initial.setdefault(f"step{i}_key", step.key if step else "")
            self.initial.setdefault(f"step{i}_title", step.title if step else "")
            self.initial.setdefault(f"step{i}_position", i)
        for name, field in PROFILE_FIELDS.items():
            self.fields[f"field_{name}_step"] = forms.ChoiceField(
                label=_("Step that asks for “%(field)s”") % {"field": field.label},
                choices=self._slot_choices(),
                required=False,
            )
            self.fields[f"field_{name}_required"] = forms.BooleanField(
                label=_("“%(field)s” is required") % {"field": field.label}, required=False
            )
            self.initial.setdefault(f"field_{name}_step", str(slot_of.get(name, "")))
            self.initial.setdefault(f"field_{name}_required", name in required)

    def _slot_choices(self) -> list[tuple[str, str]]:
        choices = [("", gettext("Not asked"))]
        for i in range(1, self.slot_count + 1):
            title = self._title_shown(i)
            if title:
                label = gettext("Slot %(n)s: %(title)s") % {"n": i, "title": title}
            else:
                label = gettext("Slot %(n)s (unused)") % {"n": i}
            choices.append((str(i), label))
        return choices

    def _title_shown(self, i: int) -> str:
        name = f"step{i}_title"
        if self.is_bound:
            return str(self.data.get(self.add_prefix(name), "")).strip()[:TITLE_MAX]
        value = self.initial.get(name) or ""
        return gettext(value) if value else ""

    @property
    def slots(self) -> list[dict[str, Any]]:
        return [
            {
                "n": i,
                "key": self[f"step{i}_key"],
                "title": self[f"step{i}_title"],
                "position": self[f"step{i}_position"],
            }
            for i in range(1, self.slot_count + 1)
        ]

    @property
    def field_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "label": field.label,
                "public": field.public,
                "step": self[f"field_{name}_step"],
                "required": self[f"field_{name}_required"],
            }
            for name, field in PROFILE_FIELDS.items()
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        slots = [
            {
                "n": i,
                "key": (data.get(f"step{i}_key") or "").strip(),
                "title": (data.get(f"step{i}_title") or "").strip(),
                "position": data[f"step{i}_position"],
                "fields": [],
                "required": [],
            }
            for i in range(1, self.slot_count + 1)
        ]
        for name, field in PROFILE_FIELDS.items():
            choice = data.get(f"field_{name}_step") or ""
            is_required = bool(data.get(f"field_{name}_required"))
            if not choice:
                if is_required:
                    self.add_error(
                        f"field_{name}_required",
                        _(
                            "“%(field)s” is required but no step asks for it: "
                            "choose a step or untick “required”."
                        )
                        % {"field": field.label},
                    )
                continue
            slot = slots[int(choice) - 1]
            if not slot["title"]:
                self.add_error(
                    f"field_{name}_step",
                    _("Slot %(n)s has no title: give it one, or choose another step.")
                    % {"n": slot["n"]},
                )
                continue
            slot["fields"].append(name)
            if is_required:
                slot["required"].append(name)
        used = [s for s in slots if s["title"]]
        for slot in used:
            if not slot["fields"]:
                self.add_error(
                    f"step{slot['n']}_title",
                    _("The step “%(title)s” asks for nothing: give it fields, or clear its title.")
                    % {"title": slot["title"]},
                )
        if self.errors:
            return data
        taken = {s["key"] for s in used if s["key"]}
        for slot in used:
            if not slot["key"]:
                slot["key"] = _step_key(slot["title"], taken, slot["n"])
                taken.add(slot["key"])
        used.sort(key=lambda s: (s["position"], s["n"]))
        steps = [
            {"key": s["key"], "title": s["title"], "fields": s["fields"], "required": s["required"]}
            for s in used
        ]
        try:
            self.steps = validate_steps(steps)
        except ValidationError as exc:
            self.add_error(None, exc)
        return data


# --- terms ------------------------------------------------------------------------------------


class TermAddForm(ModelErrorsMixin, forms.Form):
    kind = forms.ChoiceField(widget=forms.HiddenInput, choices=TermKind.choices)
    name = forms.CharField(label=_("Name"), max_length=80)

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"add_{kind}_%s")
        kwargs.setdefault("initial", {"kind": kind})
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["name"].label = (
            _("New specialization") if kind == TermKind.SPECIALIZATION else _("New category")
        )


class TermRenameForm(ModelErrorsMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)

    def __init__(self, *args: Any, term_id: int, term_name: str, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"term{term_id}_%s")
        kwargs.setdefault("initial", {"name": term_name})
        super().__init__(*args, **kwargs)
        self.fields["name"].label = _("New name for “%(name)s”") % {"name": term_name}
