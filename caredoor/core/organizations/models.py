from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from caredoor.core.brands.models import Brand, Network


class OrgKind(models.TextChoices):
    OPERATOR = "operator", _("Operator")
    CLINIC = "clinic", _("Clinic")
    CLINIC_NETWORK = "clinic_network", _("Clinic network")
    EMPLOYER = "employer", _("Employer program")


class Organization(models.Model):
    """The operator that owns a network, or a client organization bound to brands."""

    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="organizations")
    kind = models.CharField(_("kind"), max_length=20, choices=OrgKind.choices)
    name = models.CharField(_("name"), max_length=160)
    slug = models.SlugField(unique=True)
    brands = models.ManyToManyField(Brand, blank=True, related_name="organizations")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["network"],
                condition=models.Q(kind="operator"),
                name="one_operator_per_network",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_operator(self) -> bool:
        return self.kind == OrgKind.OPERATOR

    def serves(self, brand: Brand) -> bool:
        """The operator serves every brand of its network; a client only its bound brands."""
        if brand.network_id != self.network_id:
            return False
        return self.is_operator or self.brands.filter(pk=brand.pk).exists()
