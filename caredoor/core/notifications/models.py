"""In-app notifications and the delivery markers that make emails idempotent.

``Notification`` is what a person sees in a portal: a title already rendered in their
language when it was created, and a link into the portal it belongs to. It is read only
through ``queries`` scoped to (user, brand, portal).

``Delivery`` is one message to one person on one channel, identified by a unique ``key``
that the sender derives from what the message is about (``reminder:<booking>:...``,
``booking:<pk>:<event>:...``). The unique key is the idempotency marker: whoever inserts
or conditionally updates the row to ``claimed`` sends; everyone else leaves it alone.
``payload`` holds ids and names of states only, never health data, so a sender can rebuild
the message to retry it. Its ``channel`` is email or SMS.

``NotificationPreference`` rows are a person's deviations from the default channels per
brand and kind group (``preferences.py``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caredoor.core.accounts.policy import Portal
from caredoor.core.brands.models import Brand


class NotificationQuerySet(models.QuerySet["Notification"]):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    portal = models.CharField(_("portal"), max_length=16, choices=Portal.choices)
    kind = models.CharField(_("kind"), max_length=64)
    title = models.CharField(_("title"), max_length=300)
    url = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "brand", "portal", "read_at"], name="notification_inbox"),
        ]

    def __str__(self) -> str:
        return f"notification {self.pk} {self.kind} -> user {self.user_id}"


class Channel(models.TextChoices):
    IN_APP = "in_app", _("In the app")
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message (SMS)")


class KindGroup(models.TextChoices):
    """What a notification is about, as a person chooses how to hear of it
    (``preferences.group_of`` maps a notification's ``kind`` to its group)."""

    MESSAGES = "messages", _("Messages")
    BOOKINGS = "bookings", _("Bookings and requests")
    REMINDERS = "reminders", _("Session reminders")
    DOCUMENTS = "documents", _("Documents and consents")
    ACCOUNT = "account", _("Account and security")


class DeliveryState(models.TextChoices):
    # Written inside the transaction that caused the message (an outbox row); a sender
    # claims it after the commit.
    PENDING = "pending", _("Waiting to be sent")
    CLAIMED = "claimed", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed (will be retried)")
    # Overtaken before it could be sent (the booking changed again), or out of attempts.
    DROPPED = "dropped", _("Not sent")


class Delivery(models.Model):
    key = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    # Exception class name of the last failure only: SMTP errors can quote addresses.
    error = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["state", "claimed_at"], name="delivery_retry")]

    def __str__(self) -> str:
        return f"{self.key} ({self.state}, {self.attempts} attempts)"


class NotificationPreference(models.Model):
    """One deviation from the defaults (``preferences.DEFAULTS``): on ``brand``, notices of
    ``group`` reach ``user`` on ``channel`` (``enabled``) or not. No row: the default."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    group = models.CharField(max_length=16, choices=KindGroup.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    enabled = models.BooleanField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "brand", "group", "channel"], name="one_preference_per_channel"
            )
        ]

    def __str__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"user {self.user_id} {self.group}/{self.channel} {state} on brand {self.brand_id}"
