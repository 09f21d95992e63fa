"""Money: payments and refunds at the provider, vouchers, connected accounts, and the
double-entry ledger that every movement is written to (docs/payments.md).

Amounts are integer minor units with an ISO currency (ARCHITECTURE rule 5). Ledger rows
are immutable: a correction is a reversal, never an update.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from caredoor.core.booking.models import Booking
from caredoor.core.brands.models import Brand
from caredoor.core.specialists.models import SpecialistProfile


class Billing(models.TextChoices):
    """Who charges the patient for one payment (the brand's model, or the listing's
    choice on hybrid brands)."""

    PLATFORM = "platform", _("The platform charges and owes the specialist their share")
    CONNECT = "connect", _("Charged to the specialist's Stripe account (Stripe Connect)")


class PaymentStatus(models.TextChoices):
    REQUIRES_PAYMENT = "requires_payment", _("Waiting for payment")
    REQUIRES_ACTION = "requires_action", _("Waiting for the card's authentication")
    PROCESSING = "processing", _("Processing")
    FAILED = "failed", _("Payment failed")
    SUCCEEDED = "succeeded", _("Paid")
    CANCELED = "canceled", _("Cancelled")


class Payment(models.Model):
    """One amount a patient owes for a booking, and its PaymentIntent at the provider.

    ``list_minor`` is the session's price, ``discount_minor`` what vouchers took off it,
    ``amount_minor`` what the patient pays; ``fee_minor`` is the platform's commission on
    the list price and ``share_minor`` the specialist's part (``list - fee``). The quote's
    lines, as shown to the patient, are kept in ``lines``.
    """

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    booking = models.ForeignKey(
        Booking, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments"
    )
    profile = models.ForeignKey(SpecialistProfile, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    list_minor = models.PositiveIntegerField()
    discount_minor = models.PositiveIntegerField(default=0)
    amount_minor = models.PositiveIntegerField()
    fee_minor = models.PositiveIntegerField()
    share_minor = models.PositiveIntegerField()
    commission_percent = models.DecimalField(max_digits=5, decimal_places=2)
    billing = models.CharField(max_length=10, choices=Billing.choices)
    destination = models.CharField(max_length=64, blank=True, help_text="acct_… (Connect)")
    lines = models.JSONField(default=list)
    voucher = models.ForeignKey(
        "Voucher", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.REQUIRES_PAYMENT
    )
    intent_id = models.CharField(max_length=64, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    failure_message = models.CharField(max_length=300, blank=True)
    refunded_minor = models.PositiveIntegerField(default=0)
    receipt_number = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(refunded_minor__lte=models.F("amount_minor")),
                name="payment_refund_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(amount_minor=models.F("list_minor") - models.F("discount_minor")),
                name="payment_amount_is_list_less_discount",
            ),
            models.UniqueConstraint(
                fields=["receipt_number"],
                condition=~Q(receipt_number=""),
                name="payment_unique_receipt_number",
            ),
        ]

    def __str__(self) -> str:
        return f"payment {self.pk} {self.amount_minor} {self.currency} {self.status}"

    @property
    def refundable_minor(self) -> int:
        return self.amount_minor - self.refunded_minor if self.is_paid else 0

    @property
    def is_paid(self) -> bool:
        return self.status == PaymentStatus.SUCCEEDED


class RefundReason(models.TextChoices):
    CANCELLATION = "cancellation", _("Cancelled under the cancellation policy")
    STAFF = "staff", _("Refunded by staff")
    HOLD_EXPIRED = "hold_expired", _("Paid after the time was released")


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Refunded")
    FAILED = "failed", _("Failed")


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    reason = models.CharField(max_length=20, choices=RefundReason.choices)
    note = models.CharField(_("reason"), max_length=300, blank=True)
    status = models.CharField(
        max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    refund_id = models.CharField(max_length=64, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One refund per cancellation of a payment: a repeated job cannot refund twice.
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(reason__in=["cancellation", "hold_expired"]),
                name="one_policy_refund_per_payment",
            ),
        ]

    def __str__(self) -> str:
        return f"refund {self.pk} of payment {self.payment_id}"


class VoucherKind(models.TextChoices):
    PERCENT = "percent", _("Percentage off")
    FIXED = "fixed", _("Fixed amount off")


class Voucher(models.Model):
    """A code a patient enters at checkout, valid on one brand."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(_("code"), max_length=40)
    kind = models.CharField(_("kind"), max_length=10, choices=VoucherKind.choices)
    percent_off = models.PositiveSmallIntegerField(
        _("percent off"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    amount_off_minor = models.PositiveIntegerField(
        _("amount off (minor units)"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    max_uses = models.PositiveIntegerField(_("uses in all"), null=True, blank=True)
    max_uses_per_patient = models.PositiveIntegerField(
        _("uses per patient"), default=1, validators=[MinValueValidator(1)]
    )
    is_active = models.BooleanField(_("active"), default=True)
    affiliate_code = models.CharField(max_length=40, blank=True)  # attribution (affiliates)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "code"], name="one_voucher_code_per_brand"),
            models.CheckConstraint(
                condition=(Q(kind="percent", percent_off__isnull=False, amount_off_minor=None))
                | Q(kind="fixed", amount_off_minor__isnull=False, percent_off=None),
                name="voucher_kind_has_its_amount",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.code = self.code.strip().upper()
        super().save(*args, **kwargs)


class ConnectAccount(models.Model):
    """A specialist's Stripe account for specialist billing (Stripe Connect)."""

    profile = models.OneToOneField(
        SpecialistProfile, on_delete=models.CASCADE, related_name="connect_account"
    )
    account_id = models.CharField(max_length=64, unique=True)
    charges_enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.account_id


class WebhookEvent(models.Model):
    """A provider event, stored once by its id; processed by a job."""

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    deliveries = models.PositiveIntegerField(default=1)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


# --- the ledger ------------------------------------------------------------------------------


class Account(models.TextChoices):
    """The chart of accounts. Debits are positive, credits negative."""

    CASH = "cash", _("Money at the payment provider")  # asset
    SPECIALIST_PAYABLE = "specialist_payable", _("Owed to specialists")  # liability
    PLATFORM_FEES = "platform_fees", _("Platform fees")  # revenue
    DISCOUNTS = "discounts", _("Voucher discounts")  # expense (funded by the platform)
    AFFILIATE_PAYABLE = "affiliate_payable", _("Owed to affiliates")  # liability
    PREPAID = "prepaid_sessions", _("Prepaid sessions (packages)")  # liability


class TxnKind(models.TextChoices):
    PAYMENT = "payment", _("Payment")
    CONNECT_TRANSFER = "connect_transfer", _("Transfer to the specialist's Stripe account")
    REFUND = "refund", _("Refund")
    PAYOUT = "payout", _("Payout")
    COMMISSION = "commission", _("Affiliate commission")
    PACKAGE_USE = "package_use", _("Session paid from a package")
    PACKAGE_RETURN = "package_return", _("Package session given back")


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        raise TypeError("ledger rows are immutable: post a reversal")

    def delete(self):  # type: ignore[no-untyped-def]
        raise TypeError("ledger rows are immutable: post a reversal")


class Transaction(models.Model):
    """One money movement: entries that sum to zero per currency (``ledger.post``)."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=TxnKind.choices)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    refund = models.ForeignKey(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    payout = models.ForeignKey(
        "PayoutLine", null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    key = models.CharField(max_length=80, unique=True, help_text="idempotency: one post per key")
    created_at = models.DateTimeField(db_index=True)

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None:
            raise TypeError("ledger rows are immutable: post a reversal")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise TypeError("ledger rows are immutable: post a reversal")


class Entry(models.Model):
    txn = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="entries")
    account = models.CharField(max_length=24, choices=Account.choices)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    profile = models.ForeignKey(
        SpecialistProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField(help_text="debit > 0, credit < 0")
    created_at = models.DateTimeField(db_index=True)

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["account", "brand", "currency"], name="entry_account_brand"),
            models.Index(fields=["profile", "account"], name="entry_profile_account"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_minor=0), name="entry_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.amount_minor} {self.currency}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None:
            raise TypeError("ledger rows are immutable: post a reversal")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise TypeError("ledger rows are immutable: post a reversal")


# --- payouts (platform billing) --------------------------------------------------------------


class PayoutRun(models.Model):
    """What each specialist is owed on a brand for a period (platform billing)."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    period_start = models.DateField()
    period_end = models.DateField(help_text="inclusive")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_end", "-pk"]

    def __str__(self) -> str:
        return f"payouts {self.brand_id} {self.period_start}..{self.period_end}"


class PayoutLine(models.Model):
    run = models.ForeignKey(PayoutRun, on_delete=models.PROTECT, related_name="lines")
    profile = models.ForeignKey(SpecialistProfile, on_delete=models.PROTECT, related_name="+")
    amount_minor = models.PositiveIntegerField()
    paid_at = models.DateTimeField(null=True, blank=True)
    reference = models.CharField(_("payment reference"), max_length=120, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["run", "profile"]
        constraints = [
            models.UniqueConstraint(fields=["run", "profile"], name="one_payout_line_per_profile")
        ]

    def __str__(self) -> str:
        return f"payout {self.profile_id} {self.amount_minor}"


# --- packages of sessions (docs/payments.md, "Packages") -------------------------------------


class PackageOffer(models.Model):
    """A package the operator offers on a brand: ``sessions`` sessions with one specialist,
    paid up front, valid ``valid_days`` days from the purchase."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    profile = models.ForeignKey(
        SpecialistProfile, on_delete=models.PROTECT, related_name="+", verbose_name=_("specialist")
    )
    name = models.CharField(_("name"), max_length=120)
    sessions = models.PositiveSmallIntegerField(
        _("sessions"), validators=[MinValueValidator(2), MaxValueValidator(50)]
    )
    price_minor = models.PositiveIntegerField(
        _("price (minor units)"), validators=[MinValueValidator(1)]
    )
    currency = models.CharField(_("currency"), max_length=3)
    valid_days = models.PositiveSmallIntegerField(
        _("valid for (days)"), default=365, validators=[MinValueValidator(1)]
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["profile", "sessions", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sessions__gte=2, sessions__lte=50), name="package_offer_sessions"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.brand_id and self.currency and self.currency != self.brand.currency:
            raise ValidationError({"currency": _("Use the brand's currency.")})


class PackageStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for payment")
    ACTIVE = "active", _("Active")
    USED_UP = "used_up", _("Used up")
    EXPIRED = "expired", _("Expired")
    REFUNDED = "refunded", _("Refunded")


class PackagePurchase(models.Model):
    """A patient's package: bought (pending) with its Payment (no booking), active once
    Stripe says it is paid, used one session per booking (``PackageUse``)."""

    offer = models.ForeignKey(PackageOffer, on_delete=models.PROTECT, related_name="purchases")
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="package_purchases"
    )
    profile = models.ForeignKey(SpecialistProfile, on_delete=models.PROTECT, related_name="+")
    sessions_total = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="package")
    status = models.CharField(
        max_length=10, choices=PackageStatus.choices, default=PackageStatus.PENDING
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="set when it is paid")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["patient", "brand", "profile", "status"], name="package_lookup"),
        ]

    def __str__(self) -> str:
        return f"package {self.pk} ({self.sessions_total})"


class PackageUse(models.Model):
    """One session of a package spent on a booking; ``returned_at`` when it was given back
    (a cancellation by the specialist, or by the patient inside the free window)."""

    purchase = models.ForeignKey(PackagePurchase, on_delete=models.PROTECT, related_name="uses")
    booking = models.OneToOneField(Booking, on_delete=models.PROTECT, related_name="package_use")
    created_at = models.DateTimeField(auto_now_add=True)
    returned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"package use {self.pk}"
