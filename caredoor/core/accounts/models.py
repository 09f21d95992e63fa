from __future__ import annotations

import zoneinfo

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caredoor.core.accounts.policy import ROLE_SCOPE, Role, Scope
from caredoor.core.brands.models import Brand, Network
from caredoor.core.organizations.models import Organization


def normalize_phone(raw: str) -> str:
    """Validate a phone number and return it in E.164 (``+4930123456``)."""
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            _("Enter the number with its country code, for example +49 30 1234567.")
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("This phone number is not valid."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_phone(value: str) -> None:
    if value:
        normalize_phone(value)


def validate_zone(value: str) -> None:
    if value and value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(zone)s is not a known time zone."), params={"zone": value})


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("an email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("email address"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, validators=[validate_phone])
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, validators=[validate_zone]
    )
    language = models.CharField(_("language"), max_length=8, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()
        if self.language and self.language not in {c for c, _n in settings.LANGUAGES}:
            raise ValidationError({"language": _("Choose one of the offered languages.")})

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@", 1)[0]


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self) -> MembershipQuerySet:
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class Membership(models.Model):
    """A role held in a scope: a brand, an organization, or the whole network."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="memberships")
    brand = models.ForeignKey(
        Brand, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships"
    )
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="membership_scope_matches_role",
                condition=(
                    Q(
                        role__in=["patient", "affiliate"],
                        brand__isnull=False,
                        organization__isnull=True,
                    )
                    | Q(role="specialist", brand__isnull=True, organization__isnull=True)
                    | Q(
                        role__in=["org_admin", "org_staff", "finance", "operator"],
                        brand__isnull=True,
                        organization__isnull=False,
                    )
                ),
            ),
            models.UniqueConstraint(
                fields=["user", "role", "brand"],
                name="one_active_brand_role",
                condition=Q(brand__isnull=False, revoked_at__isnull=True),
            ),
            models.UniqueConstraint(
                fields=["user", "role", "organization"],
                name="one_active_org_role",
                condition=Q(organization__isnull=False, revoked_at__isnull=True),
            ),
            models.UniqueConstraint(
                fields=["user", "role", "network"],
                name="one_active_network_role",
                condition=Q(brand__isnull=True, organization__isnull=True, revoked_at__isnull=True),
            ),
        ]
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return _("%(role)s at %(scope)s") % {
            "role": self.get_role_display(),
            "scope": self.scope_label,
        }

    @property
    def scope(self) -> str:
        return ROLE_SCOPE[self.role]

    @property
    def scope_label(self) -> str:
        if self.scope == Scope.BRAND and self.brand is not None:
            return self.brand.name
        if self.scope == Scope.ORGANIZATION and self.organization is not None:
            return self.organization.name
        return self.network.name


class Invitation(models.Model):
    """An invitation to take a role. Only the token's hash is stored."""

    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="+")
    brand = models.ForeignKey(
        Brand, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    sent_on_brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} as {self.get_role_display()}"

    @property
    def is_open(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )
