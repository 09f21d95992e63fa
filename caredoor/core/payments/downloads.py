"""Downloads of money documents are recorded in the audit trail, as other reads and exports
of sensitive data are (``messaging.downloads``, ``care.actions.read_notes``): one event per
download, naming the person, their role and what they took, by id.

The portal views call these after their access checks passed and the document was made,
so a refused or failed download records nothing:

- ``payment.receipt_downloaded``: a patient's receipt PDF (target: the payment; data: the
  receipt number). The receipt names the session and the specialist.
- ``payment.sales_report_downloaded``: a specialist's monthly sales report (target: their
  profile; data: the month, the format and how many rows it held). The report names
  patients and sessions.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from caredoor.core.brands.models import Brand
from caredoor.core.compliance import audit
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.payments.models import Payment
from caredoor.core.specialists.models import SpecialistProfile


def do_record_receipt_download(
    payment: Payment, user: Any, *, role: str, request: HttpRequest | None = None
) -> AuditEvent:
    with transaction.atomic():
        return audit.record(
            "payment.receipt_downloaded",
            actor=user,
            role=role,
            target=payment,
            brand=payment.brand,
            request=request,
            data={"receipt": payment.receipt_number},
        )


def do_record_report_download(
    profile: SpecialistProfile,
    user: Any,
    *,
    role: str,
    brand: Brand | None,
    month: str,
    fmt: str,
    rows: int,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """``brand``: the site the report was downloaded on (the report covers every site)."""
    with transaction.atomic():
        return audit.record(
            "payment.sales_report_downloaded",
            actor=user,
            role=role,
            target=profile,
            brand=brand,
            request=request,
            data={"month": month, "format": fmt, "rows": rows},
        )
