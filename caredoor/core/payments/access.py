"""Scoped reads of money (ARCHITECTURE rule 3): every portal view goes through these.

Missing and forbidden are the same answer (``Http404``). Patients see their own payments
on the brand they are on; specialists the payments and refunds allocated to them; money
per brand only the operator organization of the brand's network (operators and finance),
never a client organization (clinics and employers see no payments here).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from caredoor.core.accounts.models import Membership
from caredoor.core.brands.models import Brand
from caredoor.core.payments.models import Payment, PaymentStatus, Refund
from caredoor.core.specialists.models import SpecialistProfile

# What people see as transactions: paid payments (a failed attempt is not one).
PAID = (PaymentStatus.SUCCEEDED,)


def patient_payments(user: Any, brand: Brand) -> QuerySet[Payment]:
    return (
        Payment.objects.filter(patient=user, brand=brand, status__in=PAID)
        .select_related("booking", "booking__session_type", "profile", "brand")
        .prefetch_related("refunds")
    )


def access_patient_payment(user: Any, brand: Brand, pk: int) -> Payment:
    payment = patient_payments(user, brand).filter(pk=pk).first()
    if payment is None:
        raise Http404
    return payment


def specialist_payments(profile: SpecialistProfile) -> QuerySet[Payment]:
    """Payments allocated to ``profile`` on every brand (each row names its brand)."""
    return Payment.objects.filter(profile=profile, status__in=PAID).select_related(
        "brand", "booking", "booking__session_type"
    )


def specialist_refunds(profile: SpecialistProfile) -> QuerySet[Refund]:
    return Refund.objects.filter(payment__profile=profile, status="succeeded").select_related(
        "payment", "payment__brand"
    )


def finance_brands(membership: Membership) -> QuerySet[Brand]:
    """The brands whose money ``membership`` may see: its network's, if it is held in the
    network's operator organization; none otherwise."""
    org = membership.organization
    if org is None or not org.is_operator:
        return Brand.objects.none()
    return Brand.objects.filter(network_id=membership.network_id).order_by("name")


def access_finance_brand(membership: Membership, brand_id: int) -> Brand:
    brand = finance_brands(membership).filter(pk=brand_id).first()
    if brand is None:
        raise Http404
    return brand


def access_brand_payment(membership: Membership, pk: int) -> Payment:
    payment = (
        Payment.objects.filter(pk=pk, brand__in=finance_brands(membership))
        .select_related("brand", "booking", "profile", "patient")
        .first()
    )
    if payment is None:
        raise Http404
    return payment
