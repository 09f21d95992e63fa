"""Intake questionnaires for those who build them: the operator (every brand of the
network) and a client organization's admin (their program's questionnaires on the brands
the organization is bound to).

Questions are edited through forms, never as JSON: add, edit, remove and reorder work on
the questionnaire's draft version; "Publish" makes the draft the next version, which
patients who have not submitted yet answer from then on. Nobody here reads answers.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caredoor.core.accounts.models import Membership
from caredoor.core.accounts.policy import Capability, Portal, Role
from caredoor.core.accounts.queries import organizations_visible_to
from caredoor.core.brands.choices import Module
from caredoor.core.brands.models import Brand
from caredoor.core.intake import present, schema
from caredoor.core.intake.actions import (
    do_create_questionnaire,
    do_discard_draft,
    do_publish_version,
    do_save_draft,
    do_update_questionnaire,
    working_questions,
)
from caredoor.core.intake.models import INTAKE_STAGES, Questionnaire
from caredoor.core.intake.queries import (
    access_managed_questionnaire,
    access_version,
    intake_brands_for,
    questionnaires_managed_by,
)
from caredoor.core.organizations.models import Organization, OrgKind
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.organization.forms import ModelErrorsMixin

PORTAL = Portal.ORGANIZATION
NEEDS = Capability.MANAGE_INTAKE
STAGE_CHOICES = [(s.value, s.label) for s in INTAKE_STAGES]


# --- forms ------------------------------------------------------------------------------------


class QuestionnaireForm(ModelErrorsMixin, forms.Form):
    brand = forms.ModelChoiceField(label=gettext_lazy("Brand"), queryset=Brand.objects.none())
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    stage = forms.ChoiceField(
        label=gettext_lazy("When it is due"),
        choices=STAGE_CHOICES,
        help_text=gettext_lazy(
            "Patients answer it before this step; a questionnaire due before matching is "
            "also due before booking and before the session."
        ),
    )
    organization = forms.ModelChoiceField(
        label=gettext_lazy("Program"),
        queryset=Organization.objects.none(),
        required=False,
        empty_label=gettext_lazy("None: the brand's own questionnaire"),
        help_text=gettext_lazy("A client organization whose admins may edit this questionnaire."),
    )

    def __init__(self, *args: Any, actor: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = intake_brands_for(actor)
        if actor.role == Role.OPERATOR:
            self.fields["organization"].queryset = organizations_visible_to(actor).exclude(
                kind=OrgKind.OPERATOR
            )
        else:
            del self.fields["organization"]


class SettingsForm(ModelErrorsMixin, forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    stage = forms.ChoiceField(label=gettext_lazy("When it is due"), choices=STAGE_CHOICES)
    is_active = forms.BooleanField(
        label=gettext_lazy("Active (patients are asked to answer it)"), required=False
    )


class QuestionForm(forms.Form):
    label = forms.CharField(label=gettext_lazy("Question"), max_length=schema.LABEL_MAX)
    type = forms.ChoiceField(label=gettext_lazy("Answer type"), choices=list(schema.TYPES.items()))
    required = forms.BooleanField(label=gettext_lazy("An answer is required"), required=False)
    help = forms.CharField(
        label=gettext_lazy("Hint (optional)"),
        required=False,
        max_length=schema.HELP_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    choices = forms.CharField(
        label=gettext_lazy("Choices, one per line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("For “One choice” and “Several choices”."),
    )
    scale_min = forms.IntegerField(label=gettext_lazy("Scale from"), required=False, initial=1)
    scale_max = forms.IntegerField(label=gettext_lazy("Scale to"), required=False, initial=10)
    scale_min_label = forms.CharField(
        label=gettext_lazy("Label of the lowest number"), required=False, max_length=100
    )
    scale_max_label = forms.CharField(
        label=gettext_lazy("Label of the highest number"), required=False, max_length=100
    )
    show_if_question = forms.ChoiceField(
        label=gettext_lazy("Show only when the question"),
        required=False,
        help_text=gettext_lazy("An earlier question with choices or yes/no."),
    )
    show_if_answer = forms.CharField(
        label=gettext_lazy("is answered with"),
        required=False,
        max_length=schema.CHOICE_MAX,
        help_text=gettext_lazy(
            "One of its choices exactly, or “yes” / “no”. For several choices: shown when "
            "this one is among the answers."
        ),
    )
    key = forms.CharField(
        label=gettext_lazy("Key (optional)"),
        required=False,
        max_length=50,
        help_text=gettext_lazy(
            "A short name for the answer, made from the question when empty. Keep it when "
            "you edit, so answers stay comparable between versions."
        ),
    )

    FIELD_OF = {"show_if": "show_if_question", "scale": "scale_min"}

    def __init__(self, *args: Any, earlier: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.earlier = earlier
        self.fields["show_if_question"].choices = [("", _("Always show it"))] + [
            (q["key"], q["label"]) for q in earlier if q["type"] in schema.CONDITION_TYPES
        ]

    @classmethod
    def initial_from(cls, q: dict[str, Any]) -> dict[str, Any]:
        cond = q.get("show_if") or {}
        scale = q.get("scale") or {}
        return {
            "label": q["label"],
            "key": q["key"],
            "type": q["type"],
            "required": q.get("required", False),
            "help": q.get("help", ""),
            "choices": "\n".join(q.get("choices", [])),
            "scale_min": scale.get("min", 1),
            "scale_max": scale.get("max", 10),
            "scale_min_label": scale.get("min_label", ""),
            "scale_max_label": scale.get("max_label", ""),
            "show_if_question": cond.get("question", ""),
            "show_if_answer": cond.get("equals", cond.get("contains", "")),
        }

    def question(self, taken: set[str], index: int) -> dict[str, Any] | None:
        """The question built from the form, or None with the form's errors set."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        key = data["key"].strip() or schema.suggest_key(data["label"], taken)
        raw: dict[str, Any] = {
            "key": key,
            "label": data["label"],
            "help": data["help"],
            "type": data["type"],
            "required": data["required"],
        }
        if data["type"] in (schema.CHOICE, schema.MULTI_CHOICE):
            raw["choices"] = [c.strip() for c in data["choices"].splitlines() if c.strip()]
        if data["type"] == schema.SCALE:
            raw["scale"] = {
                "min": data["scale_min"],
                "max": data["scale_max"],
                "min_label": data["scale_min_label"],
                "max_label": data["scale_max_label"],
            }
        if data["show_if_question"]:
            target = next((q for q in self.earlier if q["key"] == data["show_if_question"]), {})
            op = "contains" if target.get("type") == schema.MULTI_CHOICE else "equals"
            answer = data["show_if_answer"].strip()
            if target.get("type") == schema.YES_NO:
                answer = answer.lower()
            raw["show_if"] = {"question": data["show_if_question"], op: answer}
        q, problems = schema.validate_question(raw, self.earlier, index)
        for name, errors in problems.errors.items():
            self.add_error(self.FIELD_OF.get(name, name), errors)
        return None if problems.errors else q


# --- helpers ----------------------------------------------------------------------------------


def _questionnaire(ctx: PortalContext, questionnaire_id: int) -> Questionnaire:
    return access_managed_questionnaire(ctx.membership, questionnaire_id)


def _detail(q: Questionnaire) -> HttpResponse:
    return redirect("organization:intake_detail", questionnaire_id=q.pk)


def _save(request: HttpRequest, ctx: PortalContext, q: Questionnaire, questions: list) -> bool:
    try:
        do_save_draft(q, questions=questions, actor=request.user, role=ctx.role, request=request)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return False
    return True


def _index_of(questions: list[dict[str, Any]], key: str) -> int:
    for i, q in enumerate(questions):
        if q["key"] == key:
            return i
    raise Http404


# --- pages ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL, needs=NEEDS)
def intake_list(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    """The questionnaires per brand, and a form to start a new one."""
    form = QuestionnaireForm(
        request.POST if request.method == "POST" else None,
        actor=ctx.membership,
        initial={"brand": ctx.brand.pk if ctx.brand else None},
    )
    if request.method == "POST" and form.is_valid():
        org = form.cleaned_data.get("organization")
        if ctx.role != Role.OPERATOR:
            org = ctx.membership.organization
        try:
            q = do_create_questionnaire(
                brand=form.cleaned_data["brand"],
                title=form.cleaned_data["title"],
                stage=form.cleaned_data["stage"],
                organization=org,
                actor=request.user,
                role=ctx.role,
                request=request,
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(request, _("The questionnaire was created. Add its questions."))
            return _detail(q)
    brands = list(intake_brands_for(ctx.membership))
    managed = list(questionnaires_managed_by(ctx.membership).prefetch_related("versions"))
    groups = [(b, [q for q in managed if q.brand_id == b.pk]) for b in brands]
    return render(
        request,
        "organization/intake/list.html",
        {"ctx": ctx, "groups": groups, "form": form, "intake_module": Module.INTAKE},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL, needs=NEEDS)
def intake_detail(request: HttpRequest, ctx: PortalContext, questionnaire_id: int) -> HttpResponse:
    """Settings, the working questions (the draft), publishing, and the version history."""
    q = _questionnaire(ctx, questionnaire_id)
    form = SettingsForm(
        request.POST if request.method == "POST" else None,
        initial={"title": q.title, "stage": q.stage, "is_active": q.is_active},
    )
    if request.method == "POST" and form.is_valid():
        try:
            do_update_questionnaire(
                q,
                title=form.cleaned_data["title"],
                stage=form.cleaned_data["stage"],
                is_active=form.cleaned_data["is_active"],
                actor=request.user,
                role=ctx.role,
                request=request,
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(request, _("The settings were saved."))
            return _detail(q)
    current = q.current_version()
    draft = q.draft_version()
    questions = working_questions(q)
    by_key = {x["key"]: x for x in questions}
    rows = [
        {
            "q": x,
            "type_label": schema.TYPES.get(x["type"], x["type"]),
            "condition": by_key.get((x.get("show_if") or {}).get("question", ""), {}).get(
                "label", ""
            ),
            "condition_value": (x.get("show_if") or {}).get(
                "equals", (x.get("show_if") or {}).get("contains", "")
            ),
        }
        for x in questions
    ]
    return render(
        request,
        "organization/intake/detail.html",
        {
            "ctx": ctx,
            "questionnaire": q,
            "form": form,
            "current": current,
            "draft": draft,
            "has_changes": draft is not None
            and (current is None or draft.questions != current.questions),
            "rows": rows,
            "versions": q.versions.filter(published_at__isnull=False).order_by("-number"),
            "module_on": q.brand.has_module(Module.INTAKE),
        },
        status=400 if form.errors else 200,
    )


def _question_page(
    request: HttpRequest, ctx: PortalContext, questionnaire_id: int, key: str | None
) -> HttpResponse:
    q = _questionnaire(ctx, questionnaire_id)
    questions = working_questions(q)
    index = len(questions) if key is None else _index_of(questions, key)
    earlier = questions[:index]
    current = None if key is None else questions[index]
    form = QuestionForm(
        request.POST if request.method == "POST" else None,
        earlier=earlier,
        initial=QuestionForm.initial_from(current)
        if current
        else {"scale_min": 1, "scale_max": 10},
    )
    if request.method == "POST":
        taken = {x["key"] for i, x in enumerate(questions) if i != index}
        question = form.question(taken, index)
        if question is not None:
            if any(x["key"] == question["key"] for i, x in enumerate(questions) if i != index):
                form.add_error(
                    "key", _("Another question already uses the key “%s”.") % question["key"]
                )
            else:
                changed = list(questions)
                if key is None:
                    changed.append(question)
                else:
                    changed[index] = question
                try:
                    do_save_draft(
                        q, questions=changed, actor=request.user, role=ctx.role, request=request
                    )
                except ValidationError as exc:
                    form.add_error(None, exc.messages)
                else:
                    messages.success(
                        request,
                        _("The question was saved in the draft. Publish to show it to patients."),
                    )
                    return _detail(q)
    return render(
        request,
        "organization/intake/question_form.html",
        {"ctx": ctx, "questionnaire": q, "form": form, "editing": current},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL, needs=NEEDS)
def question_add(request: HttpRequest, ctx: PortalContext, questionnaire_id: int) -> HttpResponse:
    return _question_page(request, ctx, questionnaire_id, None)


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL, needs=NEEDS)
def question_edit(
    request: HttpRequest, ctx: PortalContext, questionnaire_id: int, key: str
) -> HttpResponse:
    return _question_page(request, ctx, questionnaire_id, key)


@require_POST
@portal_view(PORTAL, needs=NEEDS)
def question_remove(
    request: HttpRequest, ctx: PortalContext, questionnaire_id: int, key: str
) -> HttpResponse:
    q = _questionnaire(ctx, questionnaire_id)
    questions = working_questions(q)
    index = _index_of(questions, key)
    if _save(request, ctx, q, questions[:index] + questions[index + 1 :]):
        messages.success(request, _("The question was removed from the draft."))
    return _detail(q)


@require_POST
@portal_view(PORTAL, needs=NEEDS)
def question_move(
    request: HttpRequest, ctx: PortalContext, questionnaire_id: int, key: str
) -> HttpResponse:
    q = _questionnaire(ctx, questionnaire_id)
    questions = working_questions(q)
    index = _index_of(questions, key)
    other = index - 1 if request.POST.get("direction") == "up" else index + 1
    if 0 <= other < len(questions):
        questions[index], questions[other] = questions[other], questions[index]
        if _save(request, ctx, q, questions):
            messages.success(request, _("The question was moved."))
    return redirect(reverse("organization:intake_detail", args=[q.pk]) + f"#row-{key}")


@require_POST
@portal_view(PORTAL, needs=NEEDS)
def intake_publish(request: HttpRequest, ctx: PortalContext, questionnaire_id: int) -> HttpResponse:
    q = _questionnaire(ctx, questionnaire_id)
    try:
        version = do_publish_version(q, actor=request.user, role=ctx.role, request=request)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _(
                "Version %(n)d is published. Patients who have not submitted yet answer it; "
                "answers already submitted stay with their version."
            )
            % {"n": version.number},
        )
    return _detail(q)


@require_POST
@portal_view(PORTAL, needs=NEEDS)
def intake_discard(request: HttpRequest, ctx: PortalContext, questionnaire_id: int) -> HttpResponse:
    q = _questionnaire(ctx, questionnaire_id)
    try:
        do_discard_draft(q, actor=request.user, role=ctx.role, request=request)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The draft was discarded."))
    return _detail(q)


@require_GET
@portal_view(PORTAL, needs=NEEDS)
def intake_preview(
    request: HttpRequest, ctx: PortalContext, questionnaire_id: int, number: int | None = None
) -> HttpResponse:
    """The draft (or a version) as patients see it; the form sends nothing."""
    q = _questionnaire(ctx, questionnaire_id)
    version = access_version(q, number) if number is not None else None
    questions = version.questions if version is not None else working_questions(q)
    return render(
        request,
        "organization/intake/preview.html",
        {
            "ctx": ctx,
            "questionnaire": q,
            "version": version,
            "questions": present.question_views(questions),
        },
    )
