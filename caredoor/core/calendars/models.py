"""A specialist's secret calendar feed: one per profile, found by the hash of its token.

The token is the whole secret of the feed URL (``/calendar/<token>.ics``), so it is never
stored in the clear: ``token_hash`` (SHA-256, unique) finds the feed for a request, and
``token_encrypted`` (field encryption, ``compliance.crypto``) lets the specialist see their
URL again. Regenerating replaces both at once; revoking deletes the row.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caredoor.core.compliance import crypto
from caredoor.core.specialists.models import SpecialistProfile


class CalendarFeed(models.Model):
    profile = models.OneToOneField(
        SpecialistProfile, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_encrypted = models.TextField(editable=False)
    # When the current token was made (regenerating resets it).
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("calendar feed")

    def __str__(self) -> str:  # the audit trail keeps this label: never the token
        return f"calendar feed of profile {self.profile_id}"

    @property
    def token(self) -> str:
        return crypto.decrypt_text(self.token_encrypted)
