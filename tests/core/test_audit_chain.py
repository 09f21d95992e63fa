import itertools
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from caredoor.core.compliance import audit
from caredoor.core.compliance.models import AppendOnlyError, AuditChainHead, AuditEvent


def _events(n: int) -> list[AuditEvent]:
    return [audit.record("test.event", data={"n": i}) for i in range(n)]


def _raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_chain_links_every_event_to_the_previous():
    events = _events(5)
    assert events[0].prev_hash == audit.GENESIS
    for previous, event in itertools.pairwise(events):
        assert event.prev_hash == previous.hash
        assert event.seq == previous.seq + 1
    report = audit.verify_chain(batch=2)
    assert report.ok and report.checked == 5


@pytest.mark.django_db
def test_orm_refuses_to_change_or_delete_events():
    event = _events(1)[0]
    event.action = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


@pytest.mark.django_db
def test_changed_content_is_detected_at_that_event():
    events = _events(4)
    _raw("UPDATE compliance_auditevent SET data = %s WHERE seq = %s", ['{"n": 99}', events[2].seq])
    report = audit.verify_chain()
    assert not report.ok
    assert report.broken_seq == events[2].seq
    assert report.reason == "event content was changed"
    assert report.checked == 2


@pytest.mark.django_db
def test_rehashed_forgery_breaks_the_next_link():
    events = _events(3)
    forged = AuditEvent.objects.get(seq=events[1].seq)
    forged.action = "forged"
    new_hash = audit.compute_hash(forged)
    _raw(
        "UPDATE compliance_auditevent SET action = %s, hash = %s WHERE seq = %s",
        ["forged", new_hash, events[1].seq],
    )
    report = audit.verify_chain()
    assert report.broken_seq == events[2].seq
    assert report.reason == "link to the previous event is broken"


@pytest.mark.django_db
def test_removed_events_are_detected():
    events = _events(4)
    _raw("DELETE FROM compliance_auditevent WHERE seq = %s", [events[1].seq])
    report = audit.verify_chain()
    assert report.broken_seq == events[1].seq and report.reason == "event is missing"


@pytest.mark.django_db
def test_truncated_tail_is_detected():
    events = _events(3)
    _raw("DELETE FROM compliance_auditevent WHERE seq = %s", [events[2].seq])
    report = audit.verify_chain()
    assert not report.ok and report.broken_seq == events[2].seq


@pytest.mark.django_db
def test_command_reports_ok_and_names_the_first_broken_link(capsys):
    events = _events(3)
    call_command("verify_audit_chain")
    assert "Audit chain OK: 3 events verified." in capsys.readouterr().out
    _raw("UPDATE compliance_auditevent SET ip = %s WHERE seq = %s", ["10.0.0.1", events[1].seq])
    with pytest.raises(CommandError, match=rf"BROKEN at event #{events[1].seq}: event content"):
        call_command("verify_audit_chain")


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_never_fork_the_chain():
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(10):
                audit.record("test.concurrent", data={"writer": k, "i": i})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert AuditEvent.objects.count() == 40
    assert audit.verify_chain().ok
    assert AuditChainHead.objects.get().seq == 40


@pytest.mark.django_db
def test_deleting_a_user_keeps_their_events_verifiable(world):
    from caredoor.core.accounts.actions import do_update_profile

    do_update_profile(world.outsider, {"name": "Out Sider"})
    world.outsider.delete()
    assert AuditEvent.objects.filter(action="profile.updated").exists()
    assert audit.verify_chain().ok
