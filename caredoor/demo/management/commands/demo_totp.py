from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.core.management.base import BaseCommand

from caredoor.demo.data import DEMO_TOTP_SECRET


class Command(BaseCommand):
    help = "Print the current two-factor code of the demo accounts (operator, organization roles)."

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        counter = list(yield_hotp_counters_from_time())[
            len(list(yield_hotp_counters_from_time())) // 2
        ]
        self.stdout.write(format_hotp_value(hotp_value(DEMO_TOTP_SECRET, counter)))
