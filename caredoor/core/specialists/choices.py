"""Vocabulary of the specialist network: profile states, relationships, listings, fields."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class ProfileStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted for review")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Decision(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REQUEST_CHANGES = "request_changes", _("Request changes")
    REJECT = "reject", _("Reject")


class Relationship(models.TextChoices):
    PARTNER = "partner", _("Partner")
    EMPLOYEE = "employee", _("Employee")


class PricingControl(models.TextChoices):
    SPECIALIST = "specialist", _("The specialist")
    ORGANIZATION = "organization", _("The organization")
    BRAND = "brand", _("The brand")


class ListingStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    HIDDEN = "hidden", _("Hidden")
    REMOVED = "removed", _("Removed")


class DocumentKind(models.TextChoices):
    LICENCE = "licence", _("Licence")
    DIPLOMA = "diploma", _("Diploma")
    OTHER = "other", _("Other credential")


class TermKind(models.TextChoices):
    SPECIALIZATION = "specialization", _("Specialization")
    CATEGORY = "category", _("Category")


class SessionFormat(models.TextChoices):
    VIDEO = "video", _("Video")
    PHONE = "phone", _("Phone")
    IN_PERSON = "in_person", _("In person")


class AgeGroup(models.TextChoices):
    CHILDREN = "children", _("Children")
    ADOLESCENTS = "adolescents", _("Adolescents")
    ADULTS = "adults", _("Adults")
    SENIORS = "seniors", _("Older adults")


# Languages a specialist can work in (ISO 639-1), wider than the UI languages.
SPOKEN_LANGUAGES: dict[str, Promise] = {
    "ar": _("Arabic"),
    "bg": _("Bulgarian"),
    "cs": _("Czech"),
    "da": _("Danish"),
    "de": _("German"),
    "el": _("Greek"),
    "en": _("English"),
    "es": _("Spanish"),
    "fa": _("Persian"),
    "fi": _("Finnish"),
    "fr": _("French"),
    "he": _("Hebrew"),
    "hi": _("Hindi"),
    "hr": _("Croatian"),
    "hu": _("Hungarian"),
    "it": _("Italian"),
    "ja": _("Japanese"),
    "ko": _("Korean"),
    "nl": _("Dutch"),
    "no": _("Norwegian"),
    "pl": _("Polish"),
    "pt": _("Portuguese"),
    "ro": _("Romanian"),
    "ru": _("Russian"),
    "sk": _("Slovak"),
    "sr": _("Serbian"),
    "sv": _("Swedish"),
    "tr": _("Turkish"),
    "uk": _("Ukrainian"),
    "zh": _("Chinese"),
}


@dataclass(frozen=True)
class ProfileField:
    name: str
    label: Promise
    public: bool  # shown to patients; editing it after approval goes back to review


# The catalogue of what onboarding can ask for. Operators choose steps and required fields
# from it (OnboardingScheme); the code knows how to store and show each one.
PROFILE_FIELDS: dict[str, ProfileField] = {
    f.name: f
    for f in [
        ProfileField("display_name", _("Name shown to patients"), True),
        ProfileField("professional_title", _("Professional title"), True),
        ProfileField("time_zone", _("Time zone"), False),
        ProfileField("phone", _("Phone"), False),
        ProfileField("practice_preferences", _("Practice preferences"), True),
        ProfileField("languages", _("Languages you work in"), True),
        ProfileField("education", _("Education"), True),
        ProfileField("specializations", _("Specializations"), True),
        ProfileField("expertise", _("Areas of expertise"), True),
        ProfileField("categories", _("Categories"), True),
        ProfileField("bio", _("About you"), True),
        ProfileField("photo", _("Profile photo"), True),
        ProfileField("intro_video_url", _("Intro video link"), True),
        ProfileField("documents", _("Credential documents"), False),
    ]
}
PUBLIC_FIELDS = [f.name for f in PROFILE_FIELDS.values() if f.public]

# Titles are marked with gettext_noop and translated when shown; operators' own titles are
# shown as they typed them.
DEFAULT_STEPS: list[dict] = [
    {
        "key": "basics",
        "title": gettext_noop("Basics"),
        "fields": ["display_name", "professional_title", "time_zone", "phone"],
        "required": ["display_name", "time_zone", "phone"],
    },
    {
        "key": "practice",
        "title": gettext_noop("Practice"),
        "fields": ["practice_preferences", "languages", "categories"],
        "required": ["practice_preferences", "languages"],
    },
    {
        "key": "expertise",
        "title": gettext_noop("Qualifications"),
        "fields": ["education", "specializations", "expertise"],
        "required": ["education", "specializations"],
    },
    {
        "key": "profile",
        "title": gettext_noop("Public profile"),
        "fields": ["bio", "photo", "intro_video_url"],
        "required": ["bio", "photo"],
    },
    {
        "key": "credentials",
        "title": gettext_noop("Credentials"),
        "fields": ["documents"],
        "required": ["documents"],
    },
]
