"""Operator configuration for the patient-journey browser tests (test_patient_journey.py).

Everything here is what an operator or a specialist sets up before a patient arrives, made
through the core actions (documents, questionnaires, listings, hours). What the patient
does is left to the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from types import SimpleNamespace

from django.core.cache import cache
from playwright.sync_api import Page

from caredoor.core.accounts.models import User
from caredoor.core.brands.models import Brand
from caredoor.core.consents.actions import do_create_document
from caredoor.core.consents.models import ConsentDocument
from caredoor.core.intake.actions import do_create_questionnaire, do_publish_version
from caredoor.core.intake.models import Questionnaire
from caredoor.core.specialists.models import SpecialistProfile
from tests import factories
from tests.directory_helpers import listed_specialist
from tests.e2e.conftest import BrandWorld, Site

INTAKE_QUESTIONS = [
    {
        "key": "topic",
        "label": "What brings you here?",
        "type": "choice",
        "required": True,
        "choices": ["Anxiety", "Sleep", "Something else"],
    },
    {
        "key": "before",
        "label": "Have you been in therapy before?",
        "type": "yes_no",
        "required": True,
    },
    {
        "key": "helped",
        "label": "What helped you then?",
        "type": "text",
        "required": True,
        "show_if": {"question": "before", "equals": "yes"},
    },
]


@dataclass
class Marketplace:
    site: Site
    operator: User
    documents: dict[str, ConsentDocument]
    questionnaire: Questionnaire
    french: SpecialistProfile  # speaks French and English, open 14:00-20:00
    german: SpecialistProfile  # speaks German only, open 09:00-17:00


@dataclass
class FixedPrice:
    site: Site
    operator: User
    specialists: dict[str, SpecialistProfile]


def operator_of(world: BrandWorld, slug: str) -> User:
    """The network's operator (their organization owns the network)."""
    org = factories.make_org(world.network, "operator", slug=slug)
    user = factories.make_user(f"operator.{slug}@example.test")
    factories.grant(user, "operator", network=world.network, organization=org)
    return user


def configure(brand: Brand, **fields: object) -> None:
    """Brand settings an operator would save in the console; the cached brand is dropped
    so the next request sees them."""
    for name, value in fields.items():
        setattr(brand, name, value)
    brand.full_clean()
    brand.save()
    cache.clear()


def _side(world: BrandWorld, site: Site, operator: User) -> SimpleNamespace:
    return SimpleNamespace(
        network=world.network, brand=site.brand, clinic=site.clinic, operator=operator
    )


def marketplace(world: BrandWorld) -> Marketplace:
    """Lakeside as a consumer marketplace: open directory, intake, consents and feedback;
    terms and privacy at sign-up, telehealth before booking; an intake questionnaire with a
    conditional question before booking; two listed specialists with different languages
    and hours."""
    site = world.sites["lakeside"]
    operator = operator_of(world, "journey-operator")
    configure(
        site.brand,
        journey_mode="directory",
        modules=["booking", "video", "messaging", "intake", "consents", "feedback"],
        sign_in_methods=["password"],
    )
    documents = {
        kind: do_create_document(
            kind=kind,
            title=title,
            stage=stage,
            body=body,
            actor=operator,
            brand=site.brand,
        )
        for kind, title, stage, body in [
            ("terms", "Terms of use", "signup", "Be kind, come on time, cancel early."),
            ("privacy", "Privacy notice", "signup", "We keep your data in the EU."),
            (
                "telehealth",
                "Telehealth consent",
                "booking",
                "Sessions happen by video. A video session has limits: if you are in danger, "
                "call the emergency number.",
            ),
        ]
    }
    questionnaire = do_create_questionnaire(
        brand=site.brand, title="About you", stage="booking", actor=operator
    )
    do_publish_version(questionnaire, questions=INTAKE_QUESTIONS, actor=operator)
    side = _side(world, site, operator)
    french = listed_specialist(
        side,
        "Amelie Fournier",
        languages=("fr", "en"),
        specializations=("Anxiety",),
        hours=(time(14), time(20)),
    )
    german = listed_specialist(
        side,
        "Bruno Keller",
        languages=("de",),
        specializations=("Sleep",),
        hours=(time(9), time(17)),
    )
    return Marketplace(site, operator, documents, questionnaire, french, german)


def fixed_price(world: BrandWorld, price_minor: int) -> FixedPrice:
    """Summit as a fixed-price program with guided matching and three listed specialists."""
    site = world.sites["summit"]
    operator = operator_of(world, "matching-operator")
    configure(
        site.brand,
        journey_mode="matching",
        pricing_mode="brand_fixed",
        fixed_price_minor=price_minor,
    )
    side = _side(world, site, operator)
    specialists = {
        "dora": listed_specialist(
            side, "Dora Brandt", languages=("de", "en"), specializations=("Anxiety",)
        ),
        "eli": listed_specialist(side, "Eli Morgan", languages=("en",), specializations=("Sleep",)),
        "greta": listed_specialist(
            side, "Greta Lind", languages=("sv",), specializations=("Anxiety",)
        ),
    }
    return FixedPrice(site, operator, specialists)


def watch(page: Page) -> list[str]:
    """Console errors, uncaught exceptions and failed requests of ``page`` (a CSP violation
    shows up as a console error)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    def failed(response) -> None:  # type: ignore[no-untyped-def]
        if response.status >= 400 and "/favicon" not in response.url:
            problems.append(f"{response.status} {response.url}")

    page.on("response", failed)
    return problems
