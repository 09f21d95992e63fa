"""Demo intake: Harbor asks "About you and what brings you here" before booking, Steady Path
a short questionnaire before the first session; Ana has already submitted Harbor's (so her
bookings are not held up, and Dr. Mara Klein can read her answers).

Everything goes through the intake actions; a brand that already has questionnaires is left
as it is.
"""

from __future__ import annotations

from collections.abc import Callable

from caredoor.core.accounts.models import User
from caredoor.core.brands.models import Brand
from caredoor.core.intake.actions import (
    do_create_questionnaire,
    do_publish_version,
    do_save_answers,
)
from caredoor.core.intake.models import IntakeResponse, Questionnaire

OPERATOR = "operator@caredoor.test"
ANA = "ana.patient@caredoor.test"

HARBOR = {
    "title": "About you and what brings you here",
    "stage": "booking",
    "questions": [
        {
            "key": "concern",
            "label": "What would you mainly like help with?",
            "type": "choice",
            "required": True,
            "choices": [
                "Anxiety or worry",
                "Low mood",
                "Stress or burnout",
                "Relationships",
                "Something else",
            ],
        },
        {
            "key": "preferred_times",
            "label": "When would you prefer your sessions?",
            "help": "Choose all that suit you.",
            "type": "multi_choice",
            "choices": ["Mornings", "Afternoons", "Evenings", "Weekends"],
        },
        {
            "key": "wellbeing",
            "label": "How would you rate your wellbeing right now?",
            "type": "scale",
            "required": True,
            "scale": {"min": 1, "max": 10, "min_label": "Very poor", "max_label": "Very good"},
        },
        {
            "key": "therapy_before",
            "label": "Have you been in therapy before?",
            "type": "yes_no",
            "required": True,
        },
        {
            "key": "what_helped",
            "label": "What helped?",
            "help": "A few words are enough.",
            "type": "text",
            "show_if": {"question": "therapy_before", "equals": "yes"},
        },
        {"key": "started", "label": "When did this start?", "type": "date"},
    ],
}

STEADYPATH = {
    "title": "Before your first session",
    "stage": "session",
    "questions": [
        {
            "key": "goal",
            "label": "What would you like to be different after a few sessions?",
            "type": "text",
            "required": True,
        },
        {
            "key": "sleep",
            "label": "How well have you slept over the last two weeks?",
            "type": "scale",
            "scale": {"min": 1, "max": 5, "min_label": "Very badly", "max_label": "Very well"},
        },
    ],
}

ANA_ANSWERS = {
    "concern": "Anxiety or worry",
    "preferred_times": ["Evenings"],
    "wellbeing": "5",
    "therapy_before": "yes",
    "what_helped": "Breathing exercises and having someone to talk to every week.",
    "started": "2025-09-01",
}


def _questionnaire(brand: Brand, spec: dict, actor: User | None, log: Callable) -> Questionnaire:
    existing = Questionnaire.objects.filter(brand=brand, title=spec["title"]).first()
    if existing is not None:
        return existing
    q = do_create_questionnaire(brand=brand, title=spec["title"], stage=spec["stage"], actor=actor)
    do_publish_version(q, questions=spec["questions"], actor=actor)
    log(f"{'Intake':<20} {brand.name}: {q.title}")
    return q


def seed_intake(brands: dict[str, Brand], log: Callable) -> None:
    operator = User.objects.filter(email=OPERATOR).first()
    harbor = _questionnaire(brands["harbor"], HARBOR, operator, log)
    _questionnaire(brands["steadypath"], STEADYPATH, operator, log)
    ana = User.objects.filter(email=ANA).first()
    if (
        ana is not None
        and not IntakeResponse.objects.filter(user=ana, questionnaire=harbor).exists()
    ):
        do_save_answers(ana, brands["harbor"], harbor.current_version(), ANA_ANSWERS, submit=True)
        log(f"{'Intake answers':<20} {ana.email}: {harbor.title}")
