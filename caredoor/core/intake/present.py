"""Questions laid out for a form (the patient's, and the organization's preview): values,
options with their checked state, errors and the "answer only if" hint of a condition.

Pure data for templates; the markup is in ``common/intake_questions.html``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from caredoor.core.intake import schema

PREFIX = "q_"


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    checked: bool
    id: str


@dataclass
class QuestionView:
    key: str
    name: str  # the form field's name
    id: str
    label: str
    help: str
    type: str
    required: bool
    value: str = ""
    options: list[Option] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    condition_question: str = ""
    condition_value: str = ""
    condition_op: str = ""
    condition_hint: str = ""
    min_label: str = ""
    max_label: str = ""

    @property
    def grouped(self) -> bool:
        """Radio or checkbox groups: a fieldset with a legend."""
        return self.type in (schema.CHOICE, schema.MULTI_CHOICE, schema.SCALE, schema.YES_NO)


def raw_answers(questions: list[dict[str, Any]], data: Any) -> dict[str, Any]:
    """The posted answers by question key (``data``: request.POST)."""
    raw: dict[str, Any] = {}
    for q in questions:
        name = PREFIX + q["key"]
        if q["type"] == schema.MULTI_CHOICE:
            raw[q["key"]] = data.getlist(name)
        else:
            raw[q["key"]] = data.get(name, "")
    return raw


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [] if value in (None, "") else [str(value)]


def question_views(
    questions: list[dict[str, Any]],
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> list[QuestionView]:
    values = values or {}
    errors = errors or {}
    by_key = {q["key"]: q for q in questions}
    views = []
    for q in questions:
        key = q["key"]
        name = PREFIX + key
        chosen = _as_list(values.get(key))
        view = QuestionView(
            key=key,
            name=name,
            id=f"id_{name}",
            label=q["label"],
            help=q.get("help", ""),
            type=q["type"],
            required=q.get("required", False),
            value=chosen[-1] if chosen and q["type"] != schema.MULTI_CHOICE else "",
            errors=list(errors.get(key, [])),
        )
        if q["type"] in (schema.CHOICE, schema.MULTI_CHOICE):
            pairs = [(c, c) for c in q["choices"]]
        elif q["type"] == schema.YES_NO:
            pairs = [(v, str(label)) for v, label in schema.YES_NO_VALUES.items()]
        elif q["type"] == schema.SCALE:
            scale = q["scale"]
            view.min_label, view.max_label = scale.get("min_label", ""), scale.get("max_label", "")
            ends = {scale["min"]: view.min_label, scale["max"]: view.max_label}
            pairs = [
                (str(n), f"{n} ({ends[n]})" if ends.get(n) else str(n))
                for n in range(scale["min"], scale["max"] + 1)
            ]
        else:
            pairs = []
        view.options = [
            Option(value=v, label=label, checked=v in chosen, id=f"id_{name}_{i}")
            for i, (v, label) in enumerate(pairs)
        ]
        cond = q.get("show_if")
        if cond:
            target = by_key.get(cond["question"], {})
            op = "contains" if "contains" in cond else "equals"
            wanted = cond.get(op, "")
            shown = str(schema.YES_NO_VALUES.get(wanted, wanted))
            view.condition_question = PREFIX + cond["question"]
            view.condition_value = wanted
            view.condition_op = op
            if op == "contains":
                view.condition_hint = _(
                    "Answer only if you chose “%(answer)s” in “%(question)s”."
                ) % {
                    "answer": shown,
                    "question": target.get("label", ""),
                }
            else:
                view.condition_hint = _(
                    "Answer only if you answered “%(answer)s” to “%(question)s”."
                ) % {"answer": shown, "question": target.get("label", "")}
        views.append(view)
    return views
