"""Questions of an intake questionnaire: their shape, and the validation of answers.

A questionnaire version holds a list of questions (JSON). Each question is a dict:

    key       a slug, unique in the version (answers are stored under it)
    label     the question as the patient reads it
    help      an optional hint under the question
    type      text | choice | multi_choice | scale | date | yes_no
    required  whether a submission needs an answer (only while the question is shown)
    choices   for choice and multi_choice: the options (the stored answer is the option)
    scale     for scale: {"min": int, "max": int, "min_label": str, "max_label": str}
    show_if   optional: {"question": <an earlier key>, "equals": value} (choice, yes_no)
              or {"question": <an earlier key>, "contains": value} (multi_choice)

``validate_questions`` checks a whole list (refusing unknown types, duplicate keys,
conditions on unknown or later questions) and returns it normalized. ``clean_answers``
checks a patient's answers against a version: answers to hidden questions are dropped,
required answers are enforced only for shown questions and only on submission.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

TEXT = "text"
CHOICE = "choice"
MULTI_CHOICE = "multi_choice"
SCALE = "scale"
DATE = "date"
YES_NO = "yes_no"

TYPES = {
    TEXT: gettext_lazy("Text"),
    CHOICE: gettext_lazy("One choice"),
    MULTI_CHOICE: gettext_lazy("Several choices"),
    SCALE: gettext_lazy("Scale"),
    DATE: gettext_lazy("Date"),
    YES_NO: gettext_lazy("Yes or no"),
}
YES_NO_VALUES = {"yes": gettext_lazy("Yes"), "no": gettext_lazy("No")}
# Questions that may decide whether a later question is shown.
CONDITION_TYPES = {CHOICE, MULTI_CHOICE, YES_NO}

KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,49}$")
MAX_QUESTIONS = 100
MAX_CHOICES = 50
LABEL_MAX = 300
HELP_MAX = 1000
CHOICE_MAX = 200
TEXT_ANSWER_MAX = 5000
SCALE_LIMITS = (-10, 100)
SCALE_MAX_STEPS = 21


@dataclass
class QuestionProblems:
    """What is wrong with one question, per field of the question editor."""

    index: int
    key: str
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def messages(self) -> list[str]:
        label = _("Question %(n)d (“%(key)s”)") % {"n": self.index + 1, "key": self.key or "?"}
        return [f"{label}: {m}" for msgs in self.errors.values() for m in msgs]


def suggest_key(label: str, taken: set[str]) -> str:
    """A key made from the label, not in ``taken``."""
    base = slugify(label).replace("-", "_")[:40].strip("_") or "question"
    if not base[0].isalpha():
        base = f"q_{base}"[:40]
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def _text(raw: dict[str, Any], name: str) -> str:
    value = raw.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def validate_question(
    raw: Any, earlier: list[dict[str, Any]], index: int = 0
) -> tuple[dict[str, Any], QuestionProblems]:
    """One question, normalized, and its problems (``earlier``: the questions before it)."""
    problems = QuestionProblems(index=index, key="")
    if not isinstance(raw, dict):
        problems.add("type", _("A question must be an object with a key, a label and a type."))
        return {}, problems
    key = _text(raw, "key")
    problems.key = key
    q: dict[str, Any] = {
        "key": key,
        "label": _text(raw, "label"),
        "help": _text(raw, "help"),
        "type": _text(raw, "type"),
        "required": bool(raw.get("required", False)),
    }
    if not KEY_RE.match(key):
        problems.add(
            "key",
            _(
                "The key must start with a letter and use only lower-case letters, digits, "
                "“-” and “_” (at most 50)."
            ),
        )
    elif any(e.get("key") == key for e in earlier):
        problems.add("key", _("Another question already uses the key “%s”.") % key)
    if not q["label"]:
        problems.add("label", _("Write the question."))
    elif len(q["label"]) > LABEL_MAX:
        problems.add("label", _("A question can be at most %d characters long.") % LABEL_MAX)
    if len(q["help"]) > HELP_MAX:
        problems.add("help", _("The hint can be at most %d characters long.") % HELP_MAX)
    kind = q["type"]
    if kind not in TYPES:
        problems.add(
            "type",
            _("“%(type)s” is not a question type. Use one of: %(types)s.")
            % {"type": kind, "types": ", ".join(TYPES)},
        )
    if kind in (CHOICE, MULTI_CHOICE):
        choices = raw.get("choices")
        if not isinstance(choices, list):
            choices = []
        cleaned = [c.strip() for c in choices if isinstance(c, str) and c.strip()]
        if len(cleaned) < 2:
            problems.add("choices", _("Give at least two choices, one per line."))
        elif len(cleaned) > MAX_CHOICES:
            problems.add("choices", _("Give at most %d choices.") % MAX_CHOICES)
        elif len(set(cleaned)) != len(cleaned):
            problems.add("choices", _("Each choice may appear only once."))
        elif any(len(c) > CHOICE_MAX for c in cleaned):
            problems.add("choices", _("A choice can be at most %d characters long.") % CHOICE_MAX)
        q["choices"] = cleaned
    if kind == SCALE:
        scale = raw.get("scale") if isinstance(raw.get("scale"), dict) else {}
        low, high = scale.get("min"), scale.get("max")
        if not isinstance(low, int) or not isinstance(high, int) or isinstance(low, bool):
            problems.add("scale", _("Give the lowest and the highest number of the scale."))
        elif not (SCALE_LIMITS[0] <= low < high <= SCALE_LIMITS[1]):
            problems.add(
                "scale",
                _("The scale must go up from its lowest number, between %(a)d and %(b)d.")
                % {"a": SCALE_LIMITS[0], "b": SCALE_LIMITS[1]},
            )
        elif high - low + 1 > SCALE_MAX_STEPS:
            problems.add("scale", _("A scale can have at most %d steps.") % SCALE_MAX_STEPS)
        q["scale"] = {
            "min": low,
            "max": high,
            "min_label": str(scale.get("min_label") or "").strip()[:100],
            "max_label": str(scale.get("max_label") or "").strip()[:100],
        }
    show_if = raw.get("show_if")
    if show_if:
        q["show_if"] = _validate_condition(show_if, earlier, problems)
    return q, problems


def _validate_condition(
    show_if: Any, earlier: list[dict[str, Any]], problems: QuestionProblems
) -> dict[str, Any]:
    if not isinstance(show_if, dict):
        problems.add("show_if", _("A condition names a question and an answer."))
        return {}
    target_key = str(show_if.get("question") or "").strip()
    target = next((e for e in earlier if e.get("key") == target_key), None)
    if target is None:
        problems.add(
            "show_if",
            _(
                "The condition refers to “%s”, which is not an earlier question. A question "
                "can depend only on a question before it."
            )
            % target_key,
        )
        return {"question": target_key}
    if target.get("type") not in CONDITION_TYPES:
        problems.add(
            "show_if",
            _(
                "A question can depend only on a choice, several-choice or yes/no question; "
                "“%s” is not one."
            )
            % target_key,
        )
        return {"question": target_key}
    op = "contains" if target["type"] == MULTI_CHOICE else "equals"
    value = show_if.get(op, show_if.get("equals" if op == "contains" else "contains"))
    value = value.strip() if isinstance(value, str) else ""
    allowed = list(YES_NO_VALUES) if target["type"] == YES_NO else target.get("choices", [])
    if value not in allowed:
        problems.add(
            "show_if",
            _("The answer that shows this question must be one of: %(allowed)s.")
            % {"allowed": ", ".join(f"“{a}”" for a in allowed)},
        )
    return {"question": target_key, op: value}


def validate_questions(raw: Any) -> list[dict[str, Any]]:
    """The whole list, normalized; a ValidationError listing every problem otherwise."""
    if not isinstance(raw, list):
        raise ValidationError(_("The questions must be a list."), code="questions")
    if len(raw) > MAX_QUESTIONS:
        raise ValidationError(
            _("A questionnaire can have at most %d questions.") % MAX_QUESTIONS, code="questions"
        )
    cleaned: list[dict[str, Any]] = []
    messages: list[str] = []
    for index, item in enumerate(raw):
        q, problems = validate_question(item, cleaned, index)
        messages.extend(problems.messages())
        cleaned.append(q)
    if messages:
        raise ValidationError(messages, code="questions")
    return cleaned


# --- answers ---------------------------------------------------------------------------------


def condition_met(show_if: dict[str, Any] | None, answers: dict[str, Any]) -> bool:
    if not show_if:
        return True
    given = answers.get(show_if["question"])
    if "contains" in show_if:
        return isinstance(given, list) and show_if["contains"] in given
    return given == show_if.get("equals")


def visible_keys(questions: list[dict[str, Any]], answers: dict[str, Any]) -> set[str]:
    """The questions shown for these answers (a question hidden hides those that follow it)."""
    shown: set[str] = set()
    for q in questions:
        cond = q.get("show_if")
        if not cond or (cond["question"] in shown and condition_met(cond, answers)):
            shown.add(q["key"])
    return shown


def _clean_value(q: dict[str, Any], raw: Any) -> tuple[Any, str]:
    """(value or None when unanswered, error message)."""
    kind = q["type"]
    if kind == MULTI_CHOICE:
        values = raw if isinstance(raw, list) else ([raw] if raw not in (None, "") else [])
        values = [v for v in values if isinstance(v, str) and v != ""]
        if not values:
            return None, ""
        if any(v not in q["choices"] for v in values):
            return None, _("Choose from the options given.")
        return [c for c in q["choices"] if c in values], ""
    if isinstance(raw, list):
        raw = raw[-1] if raw else ""
    value = raw.strip() if isinstance(raw, str) else ("" if raw is None else str(raw))
    if value == "":
        return None, ""
    if kind == TEXT:
        if len(value) > TEXT_ANSWER_MAX:
            return None, _("Please answer in at most %d characters.") % TEXT_ANSWER_MAX
        return value, ""
    if kind == CHOICE:
        return (value, "") if value in q["choices"] else (None, _("Choose one of the options."))
    if kind == YES_NO:
        return (value, "") if value in YES_NO_VALUES else (None, _("Answer yes or no."))
    if kind == SCALE:
        low, high = q["scale"]["min"], q["scale"]["max"]
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            return None, _("Choose a number from %(min)d to %(max)d.") % {"min": low, "max": high}
        return number, ""
    if kind == DATE:
        try:
            return date.fromisoformat(value).isoformat(), ""
        except ValueError:
            return None, _("Enter a date such as 2026-03-31.")
    return None, ""


def clean_answers(
    questions: list[dict[str, Any]], raw: dict[str, Any], *, submit: bool
) -> dict[str, Any]:
    """The answers to store: valid values of shown questions only. On ``submit``, shown
    required questions must be answered. Raises ValidationError({key: [message]})."""
    answers: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for q in questions:
        value, error = _clean_value(q, raw.get(q["key"]))
        if error:
            errors[q["key"]] = [error]
        elif value is not None:
            answers[q["key"]] = value
    shown = visible_keys(questions, answers)
    answers = {k: v for k, v in answers.items() if k in shown}
    errors = {k: v for k, v in errors.items() if k in shown}
    if submit:
        for q in questions:
            if q["required"] and q["key"] in shown and q["key"] not in answers:
                errors.setdefault(q["key"], [_("Please answer this question.")])
    if errors:
        raise ValidationError(errors)
    return answers


def display_value(q: dict[str, Any], value: Any) -> str:
    """An answer as the specialist reads it."""
    if value is None:
        return ""
    if q["type"] == MULTI_CHOICE:
        return ", ".join(value)
    if q["type"] == YES_NO:
        return str(YES_NO_VALUES.get(value, value))
    if q["type"] == DATE:
        try:
            from django.utils.formats import date_format

            return date_format(date.fromisoformat(value), "DATE_FORMAT")
        except ValueError:
            return str(value)
    if q["type"] == SCALE:
        return _("%(value)s (from %(min)d to %(max)d)") % {
            "value": value,
            "min": q["scale"]["min"],
            "max": q["scale"]["max"],
        }
    return str(value)
