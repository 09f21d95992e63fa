"""The statements of a post, written once instead of built by the ORM for every message.

Posting is the platform's most frequent write: a busy process posts hundreds of messages
a second. Measured on the benchmark (``benchmarks/messaging.py``), building the post's
four statements with the ORM (``filter()``, ``update()``, ``create()``) cost more than
running them. These are the same statements with the table and column names read from
the models, so a renamed field still lands here; ``tests/core/test_messaging_core.py``
runs the post on SQLite and on PostgreSQL. Everything else stays on the ORM.

Values go through each field's own ``get_db_prep_save`` (dates, JSON, encrypted text are
adapted exactly as the ORM would), and statements run on the connection of the caller's
transaction.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model

from caredoor.core.accounts.models import Membership, User
from caredoor.core.care.models import CareRelationship
from caredoor.core.messaging.models import Message, Thread, ThreadRead


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model: type[Model], field: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field).column)


@cache
def _sql(vendor: str, name: str) -> str:
    """Each statement, built on first use per database vendor. Only quoted table and
    column names of our own models are interpolated; values are always parameters."""
    c = _column
    if name == "care_open":
        r = CareRelationship
        return (
            f"SELECT 1 FROM {_table(r)} WHERE {c(r, 'brand')} = %s"  # noqa: S608
            f" AND {c(r, 'patient')} = %s"
            f" AND {c(r, 'profile')} = %s AND {c(r, 'ended_at')} IS NULL LIMIT 1"
        )
    if name == "membership_active":
        m, u = Membership, User
        return (
            f"SELECT 1 FROM {_table(m)} INNER JOIN {_table(u)}"  # noqa: S608
            f" ON {_table(u)}.{c(u, 'id')} = {_table(m)}.{c(m, 'user')}"
            f" WHERE {_table(m)}.{c(m, 'id')} = %s AND {_table(m)}.{c(m, 'revoked_at')} IS NULL"
            f" AND {_table(u)}.{c(u, 'is_active')} LIMIT 1"
        )
    if name == "thread_clock":
        return (
            f"UPDATE {_table(Thread)} SET {c(Thread, 'last_message_at')} = %s"  # noqa: S608
            f" WHERE {c(Thread, 'id')} = %s"
        )
    if name == "read_forward":
        t = ThreadRead
        return (
            f"UPDATE {_table(t)} SET {c(t, 'last_read_id')} = %s, {c(t, 'read_at')} = %s"  # noqa: S608
            f" WHERE {c(t, 'thread')} = %s AND {c(t, 'user')} = %s"
            f" AND {c(t, 'last_read_id')} < %s"
        )
    if name == "insert_message":
        fields = _insert_fields()
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        values = ", ".join(["%s"] * len(fields))
        pk = connection.ops.quote_name(Message._meta.pk.column)
        table = _table(Message)
        return f"INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING {pk}"  # noqa: S608
    raise KeyError(name)


def _insert_fields() -> list[Any]:
    return [f for f in Message._meta.concrete_fields if not f.primary_key]


def _run(name: str, params: list[Any]) -> Any:
    cursor = connection.cursor()
    try:
        cursor.execute(_sql(connection.vendor, name), params)
        return cursor
    except BaseException:
        cursor.close()
        raise


def _when(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def care_is_open(thread: Thread) -> bool:
    """``queries.has_active_care`` for a care thread: an active relationship exists."""
    cursor = _run("care_open", [thread.brand_id, thread.patient_id, thread.profile_id])
    with cursor:
        return cursor.fetchone() is not None


def membership_active(membership_id: int) -> bool:
    """The membership is not revoked and its person is active (``Membership.active``)."""
    with _run("membership_active", [membership_id]) as cursor:
        return cursor.fetchone() is not None


def insert_message(message: Message) -> Message:
    """Insert a new ``Message`` instance and give it its id, like ``save()`` would."""
    if not connection.features.can_return_columns_from_insert:
        message.save(force_insert=True)
        return message
    params = [
        f.get_db_prep_save(f.pre_save(message, add=True), connection) for f in _insert_fields()
    ]
    with _run("insert_message", params) as cursor:
        message.pk = cursor.fetchone()[0]
    message._state.adding = False
    message._state.db = connection.alias
    return message


def set_thread_clock(thread_id: int, when: datetime) -> None:
    _run("thread_clock", [_when(when), thread_id]).close()


def move_read_forward(thread_id: int, user_id: int, upto: int, when: datetime) -> int:
    """Move a read position forward only; the number of rows moved (0 or 1)."""
    with _run("read_forward", [upto, _when(when), thread_id, user_id, upto]) as cursor:
        return cursor.rowcount
