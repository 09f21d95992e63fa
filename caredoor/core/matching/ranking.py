"""The ranking rules of guided matching: pure, documented, explainable per candidate.

Input: what the patient asked for (``Wish``), the candidates as plain facts
(``Candidate``: languages, specializations, formats, whether they take new patients, how
many active care relationships they have, their first free slot), the brand's ``Rules``
and the time now. Output: the candidates that pass the filters, best first, each with its
score and the reasons that earned it. No database, no clock, no randomness: the same input
always gives the same list (see docs/matching.md).

Filters (a candidate that fails one is left out):

1. **Language.** When the patient named languages, the candidate must speak at least one.
2. **Format.** When the patient chose a format (video, phone, in person), a candidate who
   declared formats must offer it; a candidate who declared none is not excluded.
3. **New patients.** A candidate who said they do not accept new patients is left out.
4. **Excluded.** The specialist a patient switches away from is left out.

Score (0 to 100) = the weighted mean of three parts, each between 0 and 1:

- **fit**: the share of the requested specializations the candidate covers (1 when the
  patient asked for none);
- **soon**: 1 for a free slot right now, falling linearly to 0 at the horizon (the
  patient's "how soon": 7 days, 14 days, or the brand's ``soon_days`` when flexible);
  0 without a free slot inside the horizon;
- **capacity**: ``1 - active / max_active_patients``, 0 at or above the capacity.

Ties are broken by fit, then the earlier free slot, then fewer active patients, then the
lower profile id, so the order is total.

Reasons (shown to patients and staff): a shared language ("Speaks German"), each covered
specialization ("Works with anxiety"), a free slot inside the horizon ("Free slot on
Tuesday"), and room below the capacity ("Has room for new patients").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

FIT = "fit"
SOON = "soon"
CAPACITY = "capacity"

# Reason codes (the presenter turns them into translated text).
R_LANGUAGE = "language"
R_SPECIALIZATION = "specialization"
R_SOON = "soon"
R_CAPACITY = "capacity"


@dataclass(frozen=True)
class Candidate:
    profile_id: int
    languages: frozenset[str] = frozenset()
    specializations: frozenset[int] = frozenset()
    formats: frozenset[str] = frozenset()
    accepts_new_patients: bool | None = None
    active_patients: int = 0
    first_free: datetime | None = None


@dataclass(frozen=True)
class Wish:
    languages: frozenset[str] = frozenset()
    specializations: frozenset[int] = frozenset()
    format: str = ""
    horizon_days: int = 14


@dataclass(frozen=True)
class Rules:
    weight_fit: int = 50
    weight_soon: int = 30
    weight_capacity: int = 20
    max_active_patients: int = 25


@dataclass(frozen=True)
class Reason:
    code: str
    value: str = ""  # a language code, a term id, an ISO datetime

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "value": self.value}


@dataclass(frozen=True)
class Ranked:
    profile_id: int
    score: int
    parts: dict[str, float] = field(default_factory=dict)
    reasons: tuple[Reason, ...] = ()
    first_free: datetime | None = None
    active_patients: int = 0


def passes(candidate: Candidate, wish: Wish, *, exclude: Iterable[int] = ()) -> bool:
    """The hard filters: language, format, new patients, excluded specialists."""
    if candidate.profile_id in set(exclude):
        return False
    if wish.languages and not (wish.languages & candidate.languages):
        return False
    if wish.format and candidate.formats and wish.format not in candidate.formats:
        return False
    return candidate.accepts_new_patients is not False


def fit_part(candidate: Candidate, wish: Wish) -> float:
    if not wish.specializations:
        return 1.0
    return len(wish.specializations & candidate.specializations) / len(wish.specializations)


def soon_part(candidate: Candidate, wish: Wish, now: datetime) -> float:
    if candidate.first_free is None or wish.horizon_days <= 0:
        return 0.0
    wait = (candidate.first_free - now).total_seconds()
    horizon = wish.horizon_days * 86400
    if wait >= horizon:
        return 0.0
    return 1.0 - max(wait, 0.0) / horizon


def capacity_part(candidate: Candidate, rules: Rules) -> float:
    if rules.max_active_patients <= 0:
        return 0.0
    return max(0.0, 1.0 - candidate.active_patients / rules.max_active_patients)


def score(parts: dict[str, float], rules: Rules) -> int:
    weights = {FIT: rules.weight_fit, SOON: rules.weight_soon, CAPACITY: rules.weight_capacity}
    total = sum(weights.values())
    if total <= 0:
        return 0
    return round(100 * sum(parts[k] * w for k, w in weights.items()) / total)


def reasons(candidate: Candidate, wish: Wish, parts: dict[str, float]) -> tuple[Reason, ...]:
    found = [Reason(R_LANGUAGE, code) for code in sorted(wish.languages & candidate.languages)]
    found += [
        Reason(R_SPECIALIZATION, str(term))
        for term in sorted(wish.specializations & candidate.specializations)
    ]
    if parts[SOON] > 0 and candidate.first_free is not None:
        found.append(Reason(R_SOON, candidate.first_free.isoformat()))
    if parts[CAPACITY] > 0:
        found.append(Reason(R_CAPACITY))
    return tuple(found)


def rank(
    candidates: Iterable[Candidate],
    wish: Wish,
    rules: Rules,
    *,
    now: datetime,
    exclude: Iterable[int] = (),
    limit: int | None = None,
) -> list[Ranked]:
    """The candidates that pass the filters, best first (at most ``limit``)."""
    excluded = frozenset(exclude)
    ranked = []
    for c in candidates:
        if not passes(c, wish, exclude=excluded):
            continue
        parts = {
            FIT: fit_part(c, wish),
            SOON: soon_part(c, wish, now),
            CAPACITY: capacity_part(c, rules),
        }
        ranked.append(
            Ranked(
                profile_id=c.profile_id,
                score=score(parts, rules),
                parts=parts,
                reasons=reasons(c, wish, parts),
                first_free=c.first_free,
                active_patients=c.active_patients,
            )
        )
    ranked.sort(key=_order)
    return ranked[:limit] if limit is not None else ranked


def _order(r: Ranked) -> tuple:  # type: ignore[type-arg]
    free = r.first_free.timestamp() if r.first_free is not None else float("inf")
    return (-r.score, -r.parts[FIT], free, r.active_patients, r.profile_id)
