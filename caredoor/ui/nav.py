"""Navigation per portal: label, URL name, and the capability an entry needs (if any)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext_lazy as _

from caredoor.core.accounts.policy import Capability, Portal
from caredoor.core.brands.choices import JourneyMode

NAV: dict[str, list[tuple[str, str, str | None]]] = {
    Portal.PATIENT: [
        (_("Home"), "patient:dashboard", None),
        (_("Specialists"), "patient:specialists", None),
        (_("Find my specialist"), "patient:match", None),
        (_("Ask our team"), "patient:assisted", None),
        (_("My sessions"), "patient:bookings", None),
        (_("Payments"), "patient:payments", None),
        (_("My documents"), "patient:consents", None),
        (_("My specialists"), "patient:care", None),
        (_("Questionnaires"), "patient:intake_list", None),
        (_("Messages"), "patient:messages", None),
        (_("Notifications"), "patient:notifications", None),
        (_("Account"), "patient:account", None),
    ],
    Portal.SPECIALIST: [
        (_("Dashboard"), "specialist:dashboard", None),
        (_("Calendar"), "specialist:calendar", None),
        (_("Bookings"), "specialist:bookings", None),
        (_("Patients"), "specialist:patients", None),
        (_("Consents"), "specialist:consents", None),
        # Session types are reached from the calendar and the availability page.
        (_("Availability"), "specialist:availability", None),
        (_("Profile"), "specialist:onboarding", None),
        (_("Listings"), "specialist:listings", None),
        (_("Feedback"), "specialist:feedback", None),
        (_("Transactions"), "specialist:transactions", None),
        (_("Messages"), "specialist:messages", None),
        (_("Notifications"), "specialist:notifications", None),
        (_("Account"), "specialist:account", None),
    ],
    Portal.ORGANIZATION: [
        (_("Dashboard"), "organization:dashboard", None),
        (_("Specialists"), "organization:specialists", Capability.REVIEW_SPECIALISTS),
        (_("Listings"), "organization:listings", Capability.MANAGE_LISTINGS),
        (_("Brands"), "organization:brands", Capability.MANAGE_BRANDS),
        (_("Onboarding"), "organization:onboarding", Capability.CONFIGURE_ONBOARDING),
        (_("Patient requests"), "organization:assisted", Capability.ALLOCATE_PATIENTS),
        (_("Intake"), "organization:intake", Capability.MANAGE_INTAKE),
        (_("Care relationships"), "organization:relationships", Capability.VIEW_CARE),
        (_("Feedback"), "organization:feedback", Capability.VIEW_FEEDBACK),
        (_("Consents"), "organization:consents", Capability.VIEW_CONSENTS),
        (_("Finances"), "organization:finances", Capability.VIEW_FINANCES),
        (_("Payouts"), "organization:payouts", Capability.MANAGE_PAYOUTS),
        (_("Vouchers"), "organization:vouchers", Capability.MANAGE_VOUCHERS),
        (_("Packages"), "organization:packages", Capability.MANAGE_PACKAGES),
        (_("People"), "organization:members", Capability.VIEW_MEMBERS),
        (_("Audit trail"), "organization:audit", Capability.VIEW_AUDIT),
        (_("Messages"), "organization:messages", Capability.MESSAGE_PEOPLE),
        (_("Notifications"), "organization:notifications", None),
        (_("Account"), "organization:account", None),
    ],
    Portal.AFFILIATE: [
        (_("Dashboard"), "affiliate:dashboard", None),
        (_("Notifications"), "affiliate:notifications", None),
        (_("Account"), "affiliate:account", None),
    ],
}

# Entries that depend on the brand's configuration (URL name -> test of the brand). The
# directory is in the patient navigation on "open directory" brands; on brands with guided
# matching or assisted scheduling it stays reachable from the patient's home page.
NAV_WHEN: dict[str, Callable[[Any], bool]] = {
    "patient:intake_list": lambda brand: brand is not None and brand.has_module("intake"),
    "patient:payments": lambda brand: brand is not None and brand.has_module("payments"),
    "patient:specialists": lambda brand: (
        brand is not None and brand.journey_mode == JourneyMode.DIRECTORY
    ),
    "patient:match": lambda brand: brand is not None and brand.journey_mode == JourneyMode.MATCHING,
    "patient:assisted": lambda brand: (
        brand is not None and brand.journey_mode == JourneyMode.ASSISTED
    ),
    # Notifications belong to a brand: not on the platform host's operator console.
    "organization:notifications": lambda brand: brand is not None,
    # Conversations belong to a brand: not on the platform host's operator console.
    "organization:messages": lambda brand: brand is not None,
}


def holds_money(membership: Any) -> bool:
    """Money is the network operator's (payments/access.py): a client organization's finance
    person has the capabilities by role but sees no brand's money, so no entry either."""
    organization = membership.organization
    return organization is not None and organization.is_operator


# Entries that depend on the acting membership beyond its role's capabilities.
NAV_FOR: dict[str, Callable[[Any], bool]] = {
    "organization:finances": holds_money,
    "organization:payouts": holds_money,
    "organization:vouchers": holds_money,
    "organization:packages": holds_money,
}
