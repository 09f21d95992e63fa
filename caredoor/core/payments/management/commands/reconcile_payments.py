from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from caredoor.core.brands.models import Brand
from caredoor.core.payments import reconcile, stripe_api


def day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since takes a date as yyyy-mm-dd, not {value!r}") from None


class Command(BaseCommand):
    help = (
        "Compare every payment (and the ledger) with Stripe: status, amount received, "
        "refunds, the ledger's cash, payments Stripe does not know and succeeded intents no "
        "payment records (a second charge). Prints one line per "
        "mismatch and a summary; exits with status 1 when anything differs. Reads only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--brand", metavar="SLUG", help="only this brand's payments")
        parser.add_argument(
            "--since", metavar="YYYY-MM-DD", type=day, help="only payments made since this day"
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        brand = None
        if options["brand"]:
            brand = Brand.objects.filter(slug=options["brand"]).first()
            if brand is None:
                raise CommandError(f"No brand with the slug {options['brand']!r}.")
        if not stripe_api.config()["secret_key"]:
            raise CommandError("STRIPE_SECRET_KEY is not set: there is no Stripe to compare with.")
        report = reconcile.reconcile(brand=brand, since=options["since"])
        for mismatch in report.mismatches:
            self.stdout.write(mismatch.line())
        payments = {m.payment_id for m in report.mismatches if m.payment_id}
        summary = (
            f"Checked {report.checked} payments: {len(report.mismatches)} mismatches "
            f"in {len(payments)} payments."
        )
        if not report.clean:
            raise CommandError(summary)  # exit status 1
        self.stdout.write(self.style.SUCCESS(summary))
