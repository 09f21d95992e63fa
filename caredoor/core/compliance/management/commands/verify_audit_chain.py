from django.core.management.base import BaseCommand, CommandError

from caredoor.core.compliance.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the hash chain of the audit trail and name the first broken link."

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit chain BROKEN at event #{report.broken_seq}: {report.reason} "
                f"({report.checked} events verified before it)."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain OK: {report.checked} events verified."))
