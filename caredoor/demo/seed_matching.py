"""Demo data for guided matching and assisted scheduling (idempotent).

- Steady Path (guided matching): its matching settings (a shortlist of three, chosen by
  the patient; fit weighs most).
- Northwind (assisted scheduling): Chloe's request waits in the team's queue; Noah's was
  allocated to Sam Okafor by the employer's admin, who is asked to propose times.
"""

from __future__ import annotations

from caredoor.core.accounts.actions import do_grant_membership
from caredoor.core.accounts.models import User
from caredoor.core.brands.models import Brand
from caredoor.core.matching.actions import (
    do_allocate_assistance,
    do_request_assistance,
    do_save_settings,
)
from caredoor.core.matching.models import AssistanceRequest, MatchingSettings
from caredoor.core.specialists.queries import public_profiles_on
from caredoor.demo import data

CHLOE = "chloe.employee@caredoor.test"
NOAH = ("noah.employee@caredoor.test", "Noah Employee")
EMPLOYER_ADMIN = "employer.admin@caredoor.test"
SAM = "sam.okafor@caredoor.test"

STEADYPATH_SETTINGS = {
    "shortlist_size": 3,
    "direct_allocation": False,
    "weight_fit": 50,
    "weight_soon": 30,
    "weight_capacity": 20,
    "soon_days": 14,
    "max_active_patients": 20,
}


def _noah(brand: Brand) -> User:
    user = User.objects.filter(email=NOAH[0]).first()
    if user is None:
        user = User.objects.create_user(NOAH[0], data.DEMO_PASSWORD, name=NOAH[1])
    do_grant_membership(user=user, role="patient", network=brand.network, brand=brand)
    return user


def seed_matching(brands: dict[str, Brand], log=print) -> None:  # type: ignore[no-untyped-def]
    steady = brands.get("steadypath")
    if steady is not None and not MatchingSettings.objects.filter(brand=steady).exists():
        do_save_settings(steady, STEADYPATH_SETTINGS, actor=None, role="")
        log(f"matching settings on {steady.name}")
    northwind = brands.get("northwind")
    if northwind is None:
        return
    chloe = User.objects.filter(email=CHLOE).first()
    if chloe is not None and not AssistanceRequest.objects.filter(user=chloe).exists():
        do_request_assistance(
            user=chloe,
            brand=northwind,
            needs="Work has been overwhelming for months and I sleep badly.",
            weekdays=[1, 3],
            day_parts=["morning", "evening"],
            note="Not on Friday afternoons.",
            language="en",
        )
        log(f"assistance request waiting on {northwind.name}")
    if AssistanceRequest.objects.filter(user__email=NOAH[0]).exists():
        return
    sam = public_profiles_on(northwind).filter(profile__user__email=SAM).first()
    admin = User.objects.filter(email=EMPLOYER_ADMIN).first()
    if sam is None or admin is None:
        return
    noah = _noah(northwind)
    req = do_request_assistance(
        user=noah,
        brand=northwind,
        needs="I would like to talk about grief after losing my father.",
        weekdays=[0, 2, 4],
        day_parts=["afternoon"],
        language="en",
    )
    do_allocate_assistance(req, profile_id=sam.profile_id, actor=admin, role="org_admin")
    log(f"assistance request allocated on {northwind.name} (Noah Employee, demo password)")
