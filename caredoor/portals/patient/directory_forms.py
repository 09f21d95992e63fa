"""The directory's filter form (a GET form: every filter lives in the address).

A value that does not fit (an unknown specialization, a negative price, a reversed date
range) is reported as a field error and left out of the search; the other filters still
apply. Dates are days in the viewer's zone; the range covers whole days, both included.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _

from caredoor.core.brands.models import Brand
from caredoor.core.matching import search
from caredoor.core.specialists.choices import TermKind
from caredoor.portals.patient.booking_display import local_midnight

SORT_CHOICES = [
    (search.Sort.RELEVANCE, _("Best match")),
    (search.Sort.SOONEST, _("Soonest available")),
    (search.Sort.PRICE_ASC, _("Price: low to high")),
    (search.Sort.PRICE_DESC, _("Price: high to low")),
    (search.Sort.NAME, _("Name")),
]
# The query parameters the form reads (everything else in the address is ignored).
FILTER_PARAMS = (
    "q",
    "specialization",
    "category",
    "language",
    "price_min",
    "price_max",
    "available_from",
    "available_to",
)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class DirectoryFilterForm(forms.Form):
    q = forms.CharField(label=_("Name"), required=False, max_length=100, strip=True)
    specialization = forms.TypedMultipleChoiceField(
        label=_("Specialization"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    category = forms.TypedMultipleChoiceField(
        label=_("Category"), required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    language = forms.MultipleChoiceField(
        label=_("Language"), required=False, widget=forms.CheckboxSelectMultiple
    )
    price_min = forms.DecimalField(
        label=_("Lowest price"), required=False, min_value=Decimal(0), max_digits=9
    )
    price_max = forms.DecimalField(
        label=_("Highest price"), required=False, min_value=Decimal(0), max_digits=9
    )
    available_from = forms.DateField(label=_("Available from"), required=False, widget=DateInput())
    available_to = forms.DateField(label=_("Available until"), required=False, widget=DateInput())
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)

    def __init__(self, data: object, *, brand: Brand, zone: ZoneInfo, today: date) -> None:
        super().__init__(data, auto_id="f_%s")
        self.brand = brand
        self.zone = zone
        self.today = today
        self.fields["specialization"].choices = [
            (t.pk, t.name) for t in search.terms_in_use(brand, TermKind.SPECIALIZATION)
        ]
        self.fields["category"].choices = [
            (t.pk, t.name) for t in search.terms_in_use(brand, TermKind.CATEGORY)
        ]
        self.fields["language"].choices = search.languages_in_use(brand)
        self.shows_price = search.price_applies(brand)
        exponent = search.currency_exponent(brand)
        for name in ("price_min", "price_max"):
            field = self.fields[name]
            field.decimal_places = exponent  # type: ignore[attr-defined]
            field.widget.attrs.update({"step": str(Decimal(1).scaleb(-exponent)), "min": "0"})
            field.help_text = _("In %(currency)s per session.") % {"currency": brand.currency}
            if not self.shows_price:
                del self.fields[name]
        if not self.shows_price:
            self.fields["sort"].choices = [
                c for c in SORT_CHOICES if c[0] not in search.Sort.BY_PRICE
            ]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        low, high = data.get("price_min"), data.get("price_max")
        if low is not None and high is not None and low > high:
            self.add_error("price_max", _("The highest price must not be below the lowest."))
        first, last = data.get("available_from"), data.get("available_to")
        if first is not None or last is not None:
            first = first or self.today
            last = last or first + timedelta(days=search.NEXT_AVAILABLE_DAYS - 1)
            if last < first:
                self.add_error("available_to", _("The last day must not be before the first."))
            elif last < self.today:
                self.add_error("available_to", _("Choose dates from today on."))
            elif (last - first).days + 1 > search.MAX_RANGE_DAYS:
                self.add_error(
                    "available_to",
                    _("Choose at most %(n)s days.") % {"n": search.MAX_RANGE_DAYS},
                )
        return data

    def to_query(self) -> search.DirectoryQuery:
        """The valid filters as a search (call after ``is_valid``; invalid ones are left out)."""
        data = getattr(self, "cleaned_data", {})
        exponent = search.currency_exponent(self.brand)

        def minor(name: str) -> int | None:
            value = data.get(name)
            return None if value is None else int(Decimal(value).scaleb(exponent))

        start = until = None
        first, last = data.get("available_from"), data.get("available_to")
        if "available_to" in data and (first is not None or last is not None):
            first = first or self.today
            last = last or first + timedelta(days=search.NEXT_AVAILABLE_DAYS - 1)
            start = local_midnight(first, self.zone)
            until = local_midnight(last + timedelta(days=1), self.zone)
        sort = data.get("sort") or search.Sort.RELEVANCE
        return search.DirectoryQuery(
            text=data.get("q") or "",
            specializations=frozenset(data.get("specialization") or ()),
            categories=frozenset(data.get("category") or ()),
            languages=frozenset(data.get("language") or ()),
            price_min_minor=minor("price_min"),
            price_max_minor=minor("price_max"),
            available_from=start,
            available_until=until,
            sort=sort,
        )
