"""The access policy: which roles use which portal, and what each role may do.

One table, read by every portal view (through ``portal_view``) and by the API. A view
declares the portal it belongs to and, where it needs more than portal access, the
capability it needs; nothing else decides access.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PATIENT = "patient", _("Patient")
    SPECIALIST = "specialist", _("Specialist")
    ORG_ADMIN = "org_admin", _("Organization admin")
    ORG_STAFF = "org_staff", _("Organization staff")
    FINANCE = "finance", _("Finance")
    AFFILIATE = "affiliate", _("Affiliate")
    OPERATOR = "operator", _("Operator")


class Portal(models.TextChoices):
    PATIENT = "patient", _("Patient portal")
    SPECIALIST = "specialist", _("Specialist portal")
    ORGANIZATION = "organization", _("Organization portal")
    AFFILIATE = "affiliate", _("Affiliate portal")


class Scope(models.TextChoices):
    BRAND = "brand", _("Brand")
    NETWORK = "network", _("Network")
    ORGANIZATION = "organization", _("Organization")


ROLE_SCOPE: dict[str, str] = {
    Role.PATIENT: Scope.BRAND,
    Role.AFFILIATE: Scope.BRAND,
    Role.SPECIALIST: Scope.NETWORK,
    Role.ORG_ADMIN: Scope.ORGANIZATION,
    Role.ORG_STAFF: Scope.ORGANIZATION,
    Role.FINANCE: Scope.ORGANIZATION,
    Role.OPERATOR: Scope.ORGANIZATION,
}

PORTAL_ROLES: dict[str, frozenset[str]] = {
    Portal.PATIENT: frozenset({Role.PATIENT}),
    Portal.SPECIALIST: frozenset({Role.SPECIALIST}),
    Portal.ORGANIZATION: frozenset({Role.OPERATOR, Role.ORG_ADMIN, Role.ORG_STAFF, Role.FINANCE}),
    Portal.AFFILIATE: frozenset({Role.AFFILIATE}),
}

PORTAL_PATHS: dict[str, str] = {
    Portal.PATIENT: "/",
    Portal.SPECIALIST: "/specialist/",
    Portal.ORGANIZATION: "/org/",
    Portal.AFFILIATE: "/partners/",
}

# Roles whose accounts must have a second factor before they may act.
MFA_REQUIRED_ROLES = frozenset({Role.OPERATOR, Role.ORG_ADMIN, Role.ORG_STAFF, Role.FINANCE})

# When a person holds several roles in one portal, the first in this order acts by default.
ROLE_PRECEDENCE = [
    Role.OPERATOR,
    Role.ORG_ADMIN,
    Role.FINANCE,
    Role.ORG_STAFF,
    Role.SPECIALIST,
    Role.AFFILIATE,
    Role.PATIENT,
]


class Capability(models.TextChoices):
    MANAGE_BRANDS = "brands.manage", _("Create and edit brands and domains")
    VIEW_AUDIT = "audit.view", _("Browse the audit trail")
    INVITE_MEMBERS = "members.invite", _("Invite people to roles")
    VIEW_MEMBERS = "members.view", _("See the people with roles")
    REVIEW_SPECIALISTS = "specialists.review", _("Review specialists' profiles")
    MANAGE_LISTINGS = "listings.manage", _("Approve specialists' listings on brands")
    CONFIGURE_ONBOARDING = "onboarding.configure", _("Configure specialist onboarding")
    MANAGE_CONSENTS = "consents.manage", _("Publish consent documents and their versions")
    VIEW_CONSENTS = "consents.view", _("See patients' consent status (employers: counts only)")
    VIEW_FEEDBACK = "feedback.view", _("See patient feedback (employers: brand totals only)")
    MANAGE_INTAKE = "intake.manage", _("Build intake questionnaires")
    ALLOCATE_PATIENTS = "patients.allocate", _("Allocate specialists to patients' requests")
    VIEW_CARE = "care.view", _("See care relationships (employers: counts only)")
    MESSAGE_PEOPLE = "messages.staff", _("Hold conversations with patients and specialists")
    VIEW_FINANCES = "finances.view", _("See payments, refunds and balances per brand")
    REFUND_PAYMENTS = "payments.refund", _("Refund payments")
    MANAGE_PAYOUTS = "payouts.manage", _("Run payouts to specialists and mark them paid")
    MANAGE_VOUCHERS = "vouchers.manage", _("Create and end voucher codes")
    MANAGE_PACKAGES = "packages.manage", _("Set up, change and retire package offers")


CAPABILITIES: dict[str, frozenset[str]] = {
    Capability.MANAGE_BRANDS: frozenset({Role.OPERATOR}),
    Capability.VIEW_AUDIT: frozenset({Role.OPERATOR}),
    Capability.INVITE_MEMBERS: frozenset({Role.OPERATOR, Role.ORG_ADMIN}),
    Capability.VIEW_MEMBERS: frozenset({Role.OPERATOR, Role.ORG_ADMIN}),
    Capability.REVIEW_SPECIALISTS: frozenset({Role.OPERATOR, Role.ORG_ADMIN, Role.ORG_STAFF}),
    Capability.MANAGE_LISTINGS: frozenset({Role.OPERATOR}),
    Capability.CONFIGURE_ONBOARDING: frozenset({Role.OPERATOR}),
    Capability.MANAGE_CONSENTS: frozenset({Role.OPERATOR, Role.ORG_ADMIN}),
    Capability.VIEW_CONSENTS: frozenset({Role.OPERATOR, Role.ORG_ADMIN, Role.ORG_STAFF}),
    Capability.VIEW_FEEDBACK: frozenset({Role.OPERATOR, Role.ORG_ADMIN}),
    Capability.MANAGE_INTAKE: frozenset({Role.OPERATOR, Role.ORG_ADMIN}),
    Capability.ALLOCATE_PATIENTS: frozenset({Role.OPERATOR, Role.ORG_ADMIN, Role.ORG_STAFF}),
    Capability.VIEW_CARE: frozenset({Role.OPERATOR, Role.ORG_ADMIN, Role.ORG_STAFF}),
    Capability.MESSAGE_PEOPLE: frozenset({Role.OPERATOR, Role.ORG_ADMIN, Role.ORG_STAFF}),
    # Money is the operator's: these hold only in the network's operator organization
    # (core/payments/access.py), never in a client organization.
    Capability.VIEW_FINANCES: frozenset({Role.OPERATOR, Role.FINANCE}),
    Capability.REFUND_PAYMENTS: frozenset({Role.OPERATOR, Role.FINANCE}),
    Capability.MANAGE_PAYOUTS: frozenset({Role.OPERATOR, Role.FINANCE}),
    Capability.MANAGE_VOUCHERS: frozenset({Role.OPERATOR}),
    Capability.MANAGE_PACKAGES: frozenset({Role.OPERATOR, Role.FINANCE}),
}

# Roles an inviter may hand out, by the inviter's role.
GRANTABLE_ROLES: dict[str, frozenset[str]] = {
    Role.OPERATOR: frozenset(Role.values),
    Role.ORG_ADMIN: frozenset({Role.ORG_ADMIN, Role.ORG_STAFF, Role.FINANCE}),
}


def portal_allows(portal: str, role: str) -> bool:
    return role in PORTAL_ROLES[portal]


def role_can(role: str, capability: str) -> bool:
    return role in CAPABILITIES[capability]


def role_needs_mfa(role: str) -> bool:
    return role in MFA_REQUIRED_ROLES


def portal_of_role(role: str) -> str:
    return next(p for p, roles in PORTAL_ROLES.items() if role in roles)
