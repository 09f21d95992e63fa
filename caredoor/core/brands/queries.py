from __future__ import annotations

from django.db.models import QuerySet

from caredoor.core.brands.models import Brand, Domain, Network


def normalize_host(raw_host: str) -> str:
    """``Care.Example.com:8000`` -> ``care.example.com``; IPv6 literals keep their brackets."""
    host = raw_host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end != -1 else host
    return host.rsplit(":", 1)[0].rstrip(".") if ":" in host else host.rstrip(".")


def brand_for_host(host: str) -> Brand | None:
    domain = (
        Domain.objects.select_related("brand", "brand__network")
        .filter(host=normalize_host(host), brand__is_active=True)
        .first()
    )
    return domain.brand if domain else None


def brands_of_network(network: Network) -> QuerySet[Brand]:
    return Brand.objects.filter(network=network).prefetch_related("domains")


def brand_url(brand: Brand, path: str = "/") -> str:
    """An absolute URL on the brand's primary domain, for emails sent outside a request.

    Production links are HTTPS on the default port; development links use the port the
    server runs on (``PORT``).
    """
    from django.conf import settings

    host = brand.domains.filter(is_primary=True).values_list("host", flat=True).first()
    if settings.CONFIG.production:
        return f"https://{host}{path}"
    return f"http://{host}:{settings.CONFIG.port}{path}"
