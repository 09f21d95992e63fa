from django.apps import AppConfig


class AffiliatePortalConfig(AppConfig):
    name = "caredoor.portals.affiliate"
    label = "portal_affiliate"
    verbose_name = "Affiliate portal"
