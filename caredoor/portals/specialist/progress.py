"""Where a specialist stands in onboarding: per step, what is done and what is missing."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from caredoor.core.specialists.actions import has_value, missing_fields, steps_of
from caredoor.core.specialists.choices import PROFILE_FIELDS, ProfileStatus
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.core.specialists.scheme import Step

# The specialist may change their working copy in these states; after submission (until the
# reviewer decides) and after a rejection the wizard is read-only.
EDITABLE = {ProfileStatus.DRAFT, ProfileStatus.CHANGES_REQUESTED, ProfileStatus.APPROVED}


def is_editable(profile: SpecialistProfile) -> bool:
    return profile.status in EDITABLE


@dataclass(frozen=True)
class StepState:
    step: Step
    number: int
    missing: list[str]  # required fields still empty
    started: bool  # any field has a value
    flagged: list[str]  # fields the reviewer asked to change

    @property
    def done(self) -> bool:
        return not self.missing and self.started

    @property
    def url(self) -> str:
        return reverse("specialist:onboarding_step", args=[self.step.key])

    @property
    def missing_labels(self) -> list[str]:
        return [str(PROFILE_FIELDS[f].label) for f in self.missing]

    @property
    def flagged_labels(self) -> list[str]:
        return [str(PROFILE_FIELDS[f].label) for f in self.flagged]


@dataclass(frozen=True)
class Progress:
    steps: list[StepState]
    required_total: int
    required_done: int

    @property
    def percent(self) -> int:
        if not self.required_total:
            return 100
        return round(100 * self.required_done / self.required_total)

    @property
    def steps_done(self) -> int:
        return sum(1 for s in self.steps if s.done)

    @property
    def missing_count(self) -> int:
        return self.required_total - self.required_done

    @property
    def complete(self) -> bool:
        return self.required_done == self.required_total

    def resume(self, current_step: str) -> StepState | None:
        """Continue where the specialist left off: the step they last saved if it still
        needs something, else the next one that does (None: everything is done)."""
        if not self.steps:
            return None
        keys = [s.step.key for s in self.steps]
        start = keys.index(current_step) if current_step in keys else 0
        ordered = self.steps[start:] + self.steps[:start]
        return next((s for s in ordered if not s.done), None)


def progress_of(profile: SpecialistProfile) -> Progress:
    missing = missing_fields(profile)
    flagged = profile.requested_changes or {}
    states = []
    total = done = 0
    for number, step in enumerate(steps_of(profile), start=1):
        step_missing = missing.get(step.key, [])
        total += len(step.required)
        done += len(step.required) - len(step_missing)
        states.append(
            StepState(
                step=step,
                number=number,
                missing=step_missing,
                started=any(has_value(profile, f) for f in step.fields),
                flagged=[f for f in step.fields if f in flagged],
            )
        )
    return Progress(states, total, done)
