from __future__ import annotations

from django.db.models import QuerySet

from caredoor.core.compliance.models import AuditEvent


def audit_events(
    *, brand_ids: list[int] | None, action: str = "", actor: str = "", target: str = ""
) -> QuerySet[AuditEvent]:
    """Audit events visible to a scope. ``brand_ids=None`` is the whole network's trail."""
    qs = AuditEvent.objects.select_related("brand").order_by("-seq")
    if brand_ids is not None:
        qs = qs.filter(brand_id__in=brand_ids)
    if action:
        qs = qs.filter(action__startswith=action)
    if actor:
        qs = qs.filter(actor_label__icontains=actor)
    if target:
        qs = qs.filter(target_label__icontains=target)
    return qs
