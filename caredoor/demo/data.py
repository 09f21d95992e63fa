"""The demo network, as data. Hosts are on *.localhost, which browsers resolve locally."""

from __future__ import annotations

DEMO_PASSWORD = "caredoor-demo-2026"  # noqa: S105 - published demo credential
# Base32 TOTP secret shared by the demo accounts whose roles require two-factor sign-in.
# Add it to an authenticator app, or run `python manage.py demo_totp` for the current code.
DEMO_TOTP_SECRET = "CAREDOORDEMOTOTP"  # noqa: S105 - published demo credential

NETWORK = {"slug": "demo", "name": "Caredoor Demo Network"}

ALL_MODULES = [
    "booking",
    "video",
    "messaging",
    "payments",
    "intake",
    "consents",
    "feedback",
    "affiliates",
]

BRANDS = [
    {
        "slug": "harbor",
        "hosts": ["harbor.localhost", "www.harbor.localhost"],
        "fields": {
            "name": "Harbor Therapy",
            "tagline": "Find a psychotherapist you trust and book online today.",
            "primary_color": "#1f4e79",
            "accent_color": "#0f766e",
            "default_language": "en",
            "languages": ["en", "de"],
            "time_zone": "Europe/Berlin",
            "currency": "EUR",
            "journey_mode": "directory",
            "pricing_mode": "specialist_set",
            "billing_model": "platform",
            "modules": ALL_MODULES,
            "sign_in_methods": ["password", "email_code", "magic_link"],
            "visibility": "public",
        },
    },
    {
        "slug": "steadypath",
        "hosts": ["steadypath.localhost"],
        "fields": {
            "name": "Steady Path",
            "tagline": "A curated therapy program at one clear price, matched to you.",
            "primary_color": "#6d28d9",
            "accent_color": "#9a3412",
            "default_language": "en",
            "languages": ["en"],
            "time_zone": "Europe/London",
            "currency": "GBP",
            "journey_mode": "matching",
            "pricing_mode": "brand_fixed",
            "fixed_price_minor": 6500,
            "billing_model": "platform",
            "modules": [
                "booking",
                "video",
                "messaging",
                "payments",
                "intake",
                "consents",
                "feedback",
                "affiliates",
            ],
            "sign_in_methods": ["password", "magic_link"],
            "visibility": "public",
        },
    },
    {
        "slug": "northwind",
        "hosts": ["northwind.localhost"],
        "fields": {
            "name": "Northwind Wellbeing",
            "tagline": "Vertrauliche Unterstützung für Mitarbeitende, ohne Kosten für Sie.",
            "primary_color": "#065f46",
            "accent_color": "#1d4ed8",
            "default_language": "de",
            "languages": ["de", "en"],
            "time_zone": "Europe/Berlin",
            "currency": "EUR",
            "journey_mode": "assisted",
            "pricing_mode": "brand_fixed",
            "fixed_price_minor": 0,
            "billing_model": "platform",
            "modules": ["booking", "video", "messaging", "intake", "consents", "feedback"],
            "sign_in_methods": ["magic_link", "email_code", "oidc"],
            "visibility": "private",
        },
    },
]

ORGANIZATIONS = [
    {"slug": "demo-operator", "name": "Caredoor Demo Operator", "kind": "operator", "brands": []},
    {
        "slug": "lindenhof-clinic",
        "name": "Lindenhof Clinic",
        "kind": "clinic",
        "brands": ["harbor"],
    },
    {
        "slug": "northwind-logistics",
        "name": "Northwind Logistics",
        "kind": "employer",
        "brands": ["northwind"],
    },
]

# (email, name, role, scope slug or None for network-wide); every login uses DEMO_PASSWORD.
PEOPLE = [
    ("operator@caredoor.test", "Olivia Operator", "operator", "demo-operator"),
    ("clinic.admin@caredoor.test", "Clara Clinic-Admin", "org_admin", "lindenhof-clinic"),
    ("clinic.staff@caredoor.test", "Stefan Staff", "org_staff", "lindenhof-clinic"),
    ("finance@caredoor.test", "Fiona Finance", "finance", "lindenhof-clinic"),
    ("employer.admin@caredoor.test", "Emil Employer", "org_admin", "northwind-logistics"),
    ("mara.klein@caredoor.test", "Dr. Mara Klein", "specialist", None),
    ("jonas.berg@caredoor.test", "Jonas Berg", "specialist", None),
    ("sam.okafor@caredoor.test", "Sam Okafor", "specialist", None),
    ("ana.patient@caredoor.test", "Ana Patient", "patient", "harbor"),
    ("ben.patient@caredoor.test", "Ben Patient", "patient", "steadypath"),
    ("chloe.employee@caredoor.test", "Chloe Employee", "patient", "northwind"),
    ("partner.harbor@caredoor.test", "Paula Partner", "affiliate", "harbor"),
    ("partner.steady@caredoor.test", "Pete Partner", "affiliate", "steadypath"),
]
SUPERUSER = ("admin@caredoor.test", "Platform Admin")
