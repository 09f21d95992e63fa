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
            "free_first_session": True,
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
    ("money@caredoor.test", "Felix Finance", "finance", "demo-operator"),
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

# --- the specialist network -------------------------------------------------------------
TERMS = {
    "specialization": [
        "Anxiety",
        "Depression",
        "Trauma and PTSD",
        "Burnout and stress",
        "Relationships",
        "Sleep",
        "Grief",
    ],
    "category": ["Psychotherapy", "Counselling", "Coaching", "Psychiatry"],
}

# Every profile state appears. Prices are in minor units per brand where the specialist sets
# them (Harbor Therapy); Steady Path has one fixed price and Northwind Wellbeing is covered.
SPECIALISTS = [
    {
        "email": "mara.klein@caredoor.test",
        "name": "Dr. Mara Klein",
        "title": "Psychological psychotherapist (CBT)",
        "state": "approved",
        "languages": ["de", "en"],
        "specializations": ["Anxiety", "Depression"],
        "categories": ["Psychotherapy"],
        "expertise": ["CBT", "Panic attacks", "Exposure therapy"],
        "bio": "I work with adults facing anxiety, panic and low mood, using cognitive "
        "behavioural therapy. Sessions are structured, practical and kind.",
        "education": [
            {
                "degree": "Dr. rer. nat. Clinical Psychology",
                "institution": "Humboldt-Universität zu Berlin",
                "year": 2011,
            }
        ],
        "listings": {"harbor": ("approved", 9500), "steadypath": ("approved", None)},
    },
    {
        "email": "jonas.berg@caredoor.test",
        "name": "Jonas Berg",
        "title": "Counsellor for stress and burnout",
        "state": "approved",
        "languages": ["de", "en", "sv"],
        "specializations": ["Burnout and stress", "Sleep"],
        "categories": ["Counselling", "Coaching"],
        "expertise": ["Burnout", "Work stress"],
        "bio": "Fifteen years of counselling people whose work has taken over their lives.",
        "education": [
            {"degree": "MA Counselling", "institution": "Uppsala University", "year": 2008}
        ],
        "listings": {"harbor": ("approved", 8000), "northwind": ("approved", None)},
    },
    {
        "email": "sam.okafor@caredoor.test",
        "name": "Sam Okafor",
        "title": "Trauma-informed psychotherapist",
        "state": "approved",
        "languages": ["en", "fr"],
        "specializations": ["Trauma and PTSD", "Grief"],
        "categories": ["Psychotherapy"],
        "expertise": ["EMDR", "Bereavement"],
        "bio": "I offer a steady, trauma-informed space for people living with the effects "
        "of difficult experiences and loss.",
        "education": [
            {"degree": "MSc Psychotherapy", "institution": "University of Edinburgh", "year": 2014}
        ],
        "listings": {
            "steadypath": ("approved", None),
            "northwind": ("approved", None),
            "harbor": ("requested", 11000),
        },
    },
    {
        "email": "lena.vogt@caredoor.test",
        "name": "Lena Vogt",
        "title": "Couples therapist",
        "state": "draft",
        "languages": ["de"],
        "specializations": ["Relationships"],
        "categories": ["Psychotherapy"],
        "expertise": [],
        "bio": "",
        "education": [],
        "listings": {},
    },
    {
        "email": "omar.haddad@caredoor.test",
        "name": "Omar Haddad",
        "title": "Psychiatrist",
        "state": "submitted",
        "languages": ["ar", "en", "de"],
        "specializations": ["Depression", "Sleep"],
        "categories": ["Psychiatry"],
        "expertise": ["Medication reviews"],
        "bio": "Psychiatrist with a focus on mood disorders and sleep.",
        "education": [{"degree": "MD", "institution": "Charité Berlin", "year": 2009}],
        "listings": {"harbor": ("requested", 14000)},
    },
    {
        "email": "ines.moreau@caredoor.test",
        "name": "Ines Moreau",
        "title": "Life coach",
        "state": "changes_requested",
        "languages": ["fr", "en"],
        "specializations": ["Burnout and stress"],
        "categories": ["Coaching"],
        "expertise": ["Career change"],
        "bio": "Coach.",
        "education": [{"degree": "Coaching certificate", "institution": "ICF", "year": 2020}],
        "changes": {
            "bio": "Please describe who you work with and how.",
            "education": "Add the accrediting body of your certificate.",
        },
        "listings": {},
    },
    {
        "email": "victor.reed@caredoor.test",
        "name": "Victor Reed",
        "title": "Wellness advisor",
        "state": "rejected",
        "languages": ["en"],
        "specializations": ["Sleep"],
        "categories": ["Coaching"],
        "expertise": ["Supplements"],
        "bio": "I cure anxiety with supplements.",
        "education": [{"degree": "Online course", "institution": "—", "year": 2023}],
        "reason": "Claims of cures are not allowed and no recognised qualification was provided.",
        "listings": {},
    },
]
