import logging

import pytest
from django.db import connection

from caredoor.core.compliance import audit
from caredoor.core.compliance.tasks import verify_audit_chain_nightly


@pytest.mark.django_db
def test_nightly_verification_logs_a_broken_chain(caplog):
    for i in range(3):
        audit.record("test.event", data={"i": i})
    # Huey runs tasks inline in the test settings; call_local runs the task body itself.
    assert verify_audit_chain_nightly.call_local().ok
    with connection.cursor() as cursor:
        cursor.execute("UPDATE compliance_auditevent SET action = 'x' WHERE seq = 2")
    with caplog.at_level(logging.ERROR, logger="caredoor.audit"):
        report = verify_audit_chain_nightly.call_local()
    assert not report.ok
    assert "audit chain BROKEN at event #2" in caplog.text


def test_the_consumer_schedules_it_nightly():
    import datetime

    from django.utils.module_loading import autodiscover_modules
    from huey.contrib.djhuey import HUEY

    autodiscover_modules("tasks")  # what `manage.py run_huey` does at start
    periodic = {type(t).__name__: t for t in HUEY._registry.periodic_tasks}
    task = periodic["verify_audit_chain_nightly"]
    assert task.validate_datetime(datetime.datetime(2026, 3, 29, 3, 17))
    assert not task.validate_datetime(datetime.datetime(2026, 3, 29, 4, 17))
