"""The vocabulary of brand configuration: every option is data, none is a code branch."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class JourneyMode(models.TextChoices):
    DIRECTORY = "directory", _("Open directory")
    MATCHING = "matching", _("Guided matching")
    ASSISTED = "assisted", _("Assisted scheduling")


class PricingMode(models.TextChoices):
    SPECIALIST_SET = "specialist_set", _("Specialists set their prices")
    BRAND_FIXED = "brand_fixed", _("One fixed price for the brand")


class BillingModel(models.TextChoices):
    PLATFORM = "platform", _("Platform billing")
    SPECIALIST = "specialist", _("Specialist billing (Stripe Connect)")
    HYBRID = "hybrid", _("Hybrid (per specialist)")


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Public")
    PRIVATE = "private", _("Private program (invitation or SSO only)")


class Module(models.TextChoices):
    BOOKING = "booking", _("Booking")
    VIDEO = "video", _("Video sessions")
    MESSAGING = "messaging", _("Messaging")
    PAYMENTS = "payments", _("Payments")
    INTAKE = "intake", _("Intake questionnaires")
    CONSENTS = "consents", _("Consents")
    FEEDBACK = "feedback", _("Feedback")
    AFFILIATES = "affiliates", _("Affiliates")


class SignInMethod(models.TextChoices):
    PASSWORD = "password", _("Email and password")
    EMAIL_CODE = "email_code", _("One-time code by email")
    MAGIC_LINK = "magic_link", _("Magic link by email")
    OIDC = "oidc", _("Single sign-on (OpenID Connect)")


# ISO 4217 codes with their minor-unit exponent; money is stored in minor units.
CURRENCIES: dict[str, int] = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "HUF": 2,
    "RON": 2,
    "BGN": 2,
    "JPY": 0,
    "INR": 2,
    "BRL": 2,
    "MXN": 2,
    "ZAR": 2,
    "SGD": 2,
    "HKD": 2,
    "ILS": 2,
    "TRY": 2,
}
CURRENCY_CHOICES = [(code, code) for code in sorted(CURRENCIES)]


class JourneyStage(models.TextChoices):
    """Where in the patient's journey a requirement (a consent, an intake) sits."""

    SIGNUP = "signup", _("At sign-up")
    MATCHING = "matching", _("Before matching")
    BOOKING = "booking", _("Before booking")
    SESSION = "session", _("Before the session")


# A requirement of an earlier stage is also due at every later one.
STAGE_ORDER = [
    JourneyStage.SIGNUP,
    JourneyStage.MATCHING,
    JourneyStage.BOOKING,
    JourneyStage.SESSION,
]


def stages_due_by(stage: str) -> list[str]:
    """The stages whose requirements must be met before ``stage`` (``stage`` included)."""
    return [s.value for s in STAGE_ORDER[: STAGE_ORDER.index(JourneyStage(stage)) + 1]]
