"""Scoped reads of consents: which documents apply to a brand, what a patient still owes.

Rules:
- A document applies to a brand when it is the brand's own, or its organization serves the
  brand (a client organization bound to it, or the operator of the brand's network).
- Its current version is the highest-numbered one; a document without versions is not
  shown to patients.
- A signature counts only on the brand it was made on, for the current version, while
  not withdrawn.
- ``outstanding(..., stage)`` covers documents whose stage is due by ``stage``
  (``stages_due_by``). A specialist's own requirements (``SpecialistConsentRequirement``)
  count only at stage ``session`` and only with ``profile`` given: they are due before
  that specialist's sessions, not before booking.
- A document with a blank stage (``ON_REQUEST``) is asked for only by the specialists who
  require it; a document with a stage is asked of every patient of the brand anyway.
- Without the brand's "consents" module only sign-up documents (terms, privacy) are asked
  for; everything else waits until the module is switched on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from caredoor.core.accounts.models import Membership, User
from caredoor.core.brands.choices import STAGE_ORDER, JourneyStage, Module, stages_due_by
from caredoor.core.brands.models import Brand
from caredoor.core.care.queries import brands_seen_by, patient_relationships
from caredoor.core.consents.models import (
    ON_REQUEST,
    ConsentDocument,
    ConsentSignature,
    ConsentVersion,
    SpecialistConsentRequirement,
)
from caredoor.core.organizations.models import OrgKind


def documents_for(brand: Brand, *, include_inactive: bool = False) -> QuerySet[ConsentDocument]:
    """Documents that apply to ``brand`` (active ones unless ``include_inactive``)."""
    qs = ConsentDocument.objects.filter(network_id=brand.network_id).filter(
        Q(brand=brand)
        | Q(organization__kind=OrgKind.OPERATOR, organization__network_id=brand.network_id)
        | Q(organization__brands=brand)
    )
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.select_related("brand", "organization").distinct().order_by("title", "pk")


def applies_to(document: ConsentDocument, brand: Brand) -> bool:
    return documents_for(brand, include_inactive=True).filter(pk=document.pk).exists()


def current_version(document: ConsentDocument) -> ConsentVersion | None:
    return document.versions.order_by("-number").first()


def _current_versions(documents: list[ConsentDocument]) -> dict[int, ConsentVersion]:
    """Document id -> its current version, in one query."""
    current: dict[int, ConsentVersion] = {}
    rows = ConsentVersion.objects.filter(document__in=documents).order_by("document_id", "-number")
    for v in rows.select_related("document"):
        current.setdefault(v.document_id, v)
    return current


def _asked_on(brand: Brand, docs: list[ConsentDocument]) -> list[ConsentDocument]:
    """Without the brand's "consents" module only sign-up documents (terms, privacy) are
    asked for; with it, every document."""
    if brand.has_module(Module.CONSENTS):
        return docs
    return [d for d in docs if d.stage == JourneyStage.SIGNUP]


def _stage_rank(stage: str) -> int:
    if stage == ON_REQUEST:
        return len(STAGE_ORDER)
    return STAGE_ORDER.index(JourneyStage(stage))


def required_documents(
    brand: Brand, stage: str, *, profile: Any = None, profiles: Iterable[Any] = ()
) -> list[tuple[ConsentDocument, str]]:
    """Active documents due by ``stage`` with the stage each is due at.

    With ``profile`` and stage ``session``, the specialist's own required documents count
    too (due at ``session`` unless the document itself is due earlier).
    """
    due = set(stages_due_by(stage))
    docs = _asked_on(brand, list(documents_for(brand)))
    result: dict[int, tuple[ConsentDocument, str]] = {
        d.pk: (d, d.stage) for d in docs if d.stage in due
    }
    chosen = [p for p in [profile, *profiles] if p is not None]
    if chosen and stage == JourneyStage.SESSION:
        required_ids = set(
            SpecialistConsentRequirement.objects.filter(profile__in=chosen).values_list(
                "document_id", flat=True
            )
        )
        for d in docs:
            if d.pk in required_ids and d.pk not in result:
                result[d.pk] = (d, JourneyStage.SESSION.value)
    return sorted(
        result.values(), key=lambda pair: (_stage_rank(pair[1]), pair[0].title, pair[0].pk)
    )


def valid_signatures(user: Any, brand: Brand) -> QuerySet[ConsentSignature]:
    return ConsentSignature.objects.filter(user=user, brand=brand, withdrawn_at__isnull=True)


def signup_documents(brand: Brand) -> list[ConsentVersion]:
    """Current versions of the brand's active sign-up documents (terms, privacy, ...)."""
    docs = [d for d in documents_for(brand) if d.stage == JourneyStage.SIGNUP]
    current = _current_versions(docs)
    return [current[d.pk] for d in docs if d.pk in current]


def outstanding(
    user: Any, brand: Brand, stage: str, *, profile: Any = None, profiles: Iterable[Any] = ()
) -> list[ConsentVersion]:
    """Current versions ``user`` has not validly signed on ``brand`` among the documents
    due by ``stage`` (plus ``profile``'s -- or each of ``profiles``' -- own requirements at
    stage ``session``), in the order they are due."""
    versions = due_versions(brand, stage, profile=profile, profiles=profiles)
    if not versions or not getattr(user, "is_authenticated", False):
        return versions
    signed = set(
        valid_signatures(user, brand)
        .filter(version__in=versions)
        .values_list("version_id", flat=True)
    )
    return [v for v in versions if v.pk not in signed]


def due_versions(
    brand: Brand, stage: str, *, profile: Any = None, profiles: Iterable[Any] = ()
) -> list[ConsentVersion]:
    """Current versions of the documents due by ``stage`` (signed or not), in order."""
    pairs = required_documents(brand, stage, profile=profile, profiles=profiles)
    docs = [d for d, _stage in pairs]
    if not docs:
        return []
    current = _current_versions(docs)
    return [current[d.pk] for d in docs if d.pk in current]


@dataclass(frozen=True)
class StatusRow:
    document: ConsentDocument
    current: ConsentVersion
    signed_version: ConsentVersion | None
    signed_at: datetime | None
    withdrawn_at: datetime | None
    state: str  # "signed", "outdated", "withdrawn", "missing"
    required_by: str  # a JourneyStage value, or "" (on request, not required here)
    signature: ConsentSignature | None = None

    @property
    def is_signed(self) -> bool:
        return self.state == "signed"

    @property
    def is_required(self) -> bool:
        return self.required_by != ON_REQUEST


def consent_status(
    user: Any, brand: Brand, *, profile: Any = None, profiles: Iterable[Any] = ()
) -> list[StatusRow]:
    """Every active document of the brand (with a published version) and where ``user``
    stands with it. With ``profile`` (or ``profiles``), a document a specialist requires is
    due by ``session`` at the latest. Other on-request documents show only once signed
    (``required_by`` ""), so they can be withdrawn."""
    required_by: dict[int, str] = {}
    docs = _asked_on(brand, list(documents_for(brand)))
    for d in docs:
        required_by[d.pk] = d.stage
    if profile is not None or profiles:
        for d, stage in required_documents(
            brand, JourneyStage.SESSION, profile=profile, profiles=profiles
        ):
            required_by[d.pk] = stage
    current = _current_versions(docs)
    latest: dict[int, ConsentSignature] = {}
    for sig in (
        ConsentSignature.objects.filter(user=user, brand=brand, version__document__in=docs)
        .select_related("version")
        .order_by("-signed_at", "-pk")
    ):
        latest.setdefault(sig.version.document_id, sig)
    rows = []
    for d in docs:
        if d.pk not in current:
            continue
        cur = current[d.pk]
        sig = latest.get(d.pk)
        if sig is None and required_by[d.pk] == ON_REQUEST:
            continue  # asked for by other specialists only, never signed: not shown
        if sig is None:
            state = "missing"
        elif sig.withdrawn_at is not None:
            state = "withdrawn"
        elif sig.version_id != cur.pk:
            state = "outdated"
        else:
            state = "signed"
        rows.append(
            StatusRow(
                document=d,
                current=cur,
                signed_version=sig.version if sig else None,
                signed_at=sig.signed_at if sig else None,
                withdrawn_at=sig.withdrawn_at if sig else None,
                state=state,
                required_by=required_by[d.pk],
                signature=sig,
            )
        )
    rows.sort(key=lambda r: (_stage_rank(r.required_by), r.document.title, r.document.pk))
    return rows


def specialist_requirements(profile: Any, brand: Brand | None = None) -> QuerySet[ConsentDocument]:
    """The documents ``profile`` requires before sessions (on ``brand`` when given)."""
    qs = ConsentDocument.objects.filter(specialist_requirements__profile=profile)
    if brand is not None:
        qs = qs.filter(pk__in=documents_for(brand).values("pk"))
    return qs.distinct()


def access_own_signature(user: Any, brand: Brand, signature_id: int) -> ConsentSignature:
    """The user's own signature on this brand; 404 for another's, another brand's, missing."""
    try:
        return ConsentSignature.objects.select_related("version__document").get(
            pk=signature_id, user=user, brand=brand
        )
    except ConsentSignature.DoesNotExist:
        raise Http404 from None


def access_version(brand: Brand, version_id: int) -> ConsentVersion:
    """A version of a document that applies to ``brand`` (404 otherwise)."""
    try:
        return ConsentVersion.objects.select_related("document").get(
            pk=version_id, document__in=documents_for(brand)
        )
    except ConsentVersion.DoesNotExist:
        raise Http404 from None


def patient_profiles(user: Any, brand: Brand) -> list[Any]:
    """The specialists the patient is in care with on the brand (whose requirements apply)."""
    return [rel.profile for rel in patient_relationships(user, brand).filter(ended_at__isnull=True)]


# --- the organization portal's reads --------------------------------------------------------


def access_staff_brand(membership: Any, brand_id: int) -> Brand:
    """One of the brands whose consents an organization role sees (``brands_seen_by``)."""
    try:
        return brands_seen_by(membership).get(pk=brand_id)
    except Brand.DoesNotExist:
        raise Http404 from None


def documents_for_staff(membership: Any) -> QuerySet[ConsentDocument]:
    """Documents an organization role sees: the operator every document of the network; a
    client organization's people their own and those applying to their brands."""
    qs = ConsentDocument.objects.filter(network_id=membership.network_id).select_related(
        "brand", "organization"
    )
    if membership.organization_id is None:
        return qs.none()
    if membership.organization.is_operator:
        return qs
    brands = brands_seen_by(membership)
    return qs.filter(
        Q(organization_id=membership.organization_id)
        | Q(brand__in=brands)
        | Q(organization__kind=OrgKind.OPERATOR)
        | Q(organization__brands__in=brands)
    ).distinct()


def access_staff_document(membership: Any, document_id: int) -> ConsentDocument:
    try:
        return documents_for_staff(membership).get(pk=document_id)
    except ConsentDocument.DoesNotExist:
        raise Http404 from None


def can_manage_document(membership: Any, document: ConsentDocument) -> bool:
    """Operators manage every document of their network; a client organization's admins
    the documents their organization owns (the caller checked the capability)."""
    if document.network_id != membership.network_id or membership.organization_id is None:
        return False
    if membership.organization.is_operator:
        return True
    return document.organization_id == membership.organization_id


def brand_patients(brand: Brand) -> QuerySet[User]:
    """The brand's patients (active patient roles on it)."""
    ids = Membership.objects.active().filter(brand=brand, role="patient").values("user_id")
    return User.objects.filter(pk__in=ids).order_by("email")
