"""Demo consents: Harbor asks for its terms and privacy notice at sign-up and a telehealth
consent before booking; Steady Path for terms and privacy at sign-up and a treatment
agreement before the session; Northwind Logistics (the employer) for a data processing
consent at sign-up on Northwind Wellbeing.

Ana has signed all of Harbor's; Ben has signed Steady Path's terms and privacy but not yet
the treatment agreement (his home page shows it as a step before his session); Chloe has
signed Northwind's. Everything goes through the consent actions; a brand (or organization)
that already has documents is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable

from caredoor.core.accounts.models import User
from caredoor.core.brands.models import Brand
from caredoor.core.consents import queries
from caredoor.core.consents.actions import do_create_document, do_sign
from caredoor.core.consents.models import ConsentDocument
from caredoor.core.organizations.models import Organization

OPERATOR = "operator@caredoor.test"
EMPLOYER_ADMIN = "employer.admin@caredoor.test"

TERMS = (
    "These terms govern your use of {brand}.\n\n"
    "1. {brand} connects you with independent, licensed specialists. Your specialist is "
    "responsible for your care; {brand} provides the booking and communication service.\n\n"
    "2. Sessions are not for emergencies. In a crisis, call your local emergency number.\n\n"
    "3. Cancellation and rescheduling follow the booking rules shown before you book.\n\n"
    "4. You keep your account details accurate and your sign-in private."
)
PRIVACY = (
    "{brand} processes your account details, bookings and what you choose to share with "
    "your specialist in order to provide the service.\n\n"
    "Health information is encrypted and seen only by the specialists you are in care with. "
    "You can ask for a copy of your data or for its deletion at any time."
)
TELEHEALTH = (
    "Sessions take place by video. Video sessions have limits: your specialist cannot "
    "examine you in person, and a connection can fail.\n\n"
    "Join from a private place. If the connection fails, your specialist will try to "
    "reach you by the contact details in your account."
)
TREATMENT = (
    "The program consists of up to eight sessions with one specialist, at one fixed price "
    "per session.\n\n"
    "You and your specialist agree on goals in the first session and review them at the "
    "end. You may end the program at any time."
)
DATA_PROCESSING = (
    "Northwind Logistics pays for this program. Northwind Logistics never sees who uses it "
    "or anything you discuss: it receives counts only, never names.\n\n"
    "The specialists and the operator process your data to provide your sessions."
)

# brand slug -> [(kind, title, stage, body)]
BRAND_DOCUMENTS = {
    "harbor": [
        ("terms", "Terms of use", "signup", TERMS),
        ("privacy", "Privacy notice", "signup", PRIVACY),
        ("telehealth", "Telehealth consent", "booking", TELEHEALTH),
    ],
    "steadypath": [
        ("terms", "Program terms", "signup", TERMS),
        ("privacy", "Privacy notice", "signup", PRIVACY),
        ("treatment", "Treatment agreement", "session", TREATMENT),
    ],
}
ORGANIZATION_DOCUMENTS = {
    "northwind-logistics": [
        ("data_processing", "Data processing consent", "signup", DATA_PROCESSING),
    ],
}
# patient email -> (brand slug, document kinds signed)
SIGNED = {
    "ana.patient@caredoor.test": ("harbor", {"terms", "privacy", "telehealth"}),
    "ben.patient@caredoor.test": ("steadypath", {"terms", "privacy"}),
    "chloe.employee@caredoor.test": ("northwind", {"data_processing"}),
}


def _create(owner: dict, documents: list, actor: User | None, label: str, log: Callable) -> None:
    if ConsentDocument.objects.filter(**owner).exists():
        return
    brand = owner.get("brand")
    for kind, title, stage, body in documents:
        name = brand.name if brand is not None else "Northwind Wellbeing"
        do_create_document(
            kind=kind,
            title=title,
            stage=stage,
            body=body.format(brand=name),
            actor=actor,
            role="operator" if brand is not None else "org_admin",
            **owner,
        )
        log(f"{'Consent document':<20} {label}: {title}")


def seed_consents(brands: dict[str, Brand], log: Callable) -> None:
    operator = User.objects.filter(email=OPERATOR).first()
    for slug, documents in BRAND_DOCUMENTS.items():
        _create({"brand": brands[slug]}, documents, operator, brands[slug].name, log)
    employer_admin = User.objects.filter(email=EMPLOYER_ADMIN).first()
    for slug, documents in ORGANIZATION_DOCUMENTS.items():
        org = Organization.objects.filter(slug=slug).first()
        if org is not None:
            _create({"organization": org}, documents, employer_admin, org.name, log)
    for email, (slug, kinds) in SIGNED.items():
        user = User.objects.filter(email=email).first()
        if user is None:
            continue
        brand = brands[slug]
        for version in queries.outstanding(user, brand, "session"):
            if version.document.kind in kinds:
                do_sign(user, version, brand=brand)
                log(f"{'Consent signed':<20} {email}: {version.document.title}")
