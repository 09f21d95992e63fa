"""Navigation per portal: label, URL name, and the capability an entry needs (if any)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from caredoor.core.accounts.policy import Capability, Portal

NAV: dict[str, list[tuple[str, str, str | None]]] = {
    Portal.PATIENT: [
        (_("Home"), "patient:dashboard", None),
        (_("Account"), "patient:account", None),
    ],
    Portal.SPECIALIST: [
        (_("Dashboard"), "specialist:dashboard", None),
        (_("Account"), "specialist:account", None),
    ],
    Portal.ORGANIZATION: [
        (_("Dashboard"), "organization:dashboard", None),
        (_("Brands"), "organization:brands", Capability.MANAGE_BRANDS),
        (_("People"), "organization:members", Capability.VIEW_MEMBERS),
        (_("Audit trail"), "organization:audit", Capability.VIEW_AUDIT),
        (_("Account"), "organization:account", None),
    ],
    Portal.AFFILIATE: [
        (_("Dashboard"), "affiliate:dashboard", None),
        (_("Account"), "affiliate:account", None),
    ],
}
