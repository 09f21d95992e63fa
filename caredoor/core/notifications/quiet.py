"""A running in-app notification is refreshed at most once per ``QUIET`` seconds.

Messages refresh the recipient's one unread "New messages from ..." notification per
thread (``actions.do_refresh_in_app``). In a live conversation that is one preference
query and one UPDATE per message for a change nobody sees: the title stays the same and
only its time moves. After a refresh the notification counts as fresh for ``QUIET``
seconds and further refreshes are skipped, with one cache round trip for all recipients.

Reading notifications ends the quiet at once: each person has a read generation that
every read of notifications changes (``reset``), and a fresh mark only holds for the
generation it was made under. So a message that arrives after the person read the
notification always makes a new one; its time is at most ``QUIET`` seconds old.
The cache is Redis with ``REDIS_URL`` (shared by every process), else process memory.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import cache

QUIET = 30  # seconds
GENERATION_TTL = 7 * 24 * 3600  # a lost generation only makes the next refresh due


@dataclass(frozen=True)
class Target:
    """One person's running notification: who, where, and what it links to."""

    user_id: int
    brand_id: int
    portal: str
    kind: str
    url: str

    @property
    def key(self) -> str:
        raw = f"{self.user_id}|{self.brand_id}|{self.portal}|{self.kind}|{self.url}"
        return "notice-fresh:" + hashlib.blake2s(raw.encode(), digest_size=12).hexdigest()


def _generation_key(user_id: int) -> str:
    return f"notice-read:{user_id}"


def due(targets: Sequence[Target]) -> dict[Target, int]:
    """The targets whose refresh is due, each with the person's read generation now
    (pass it to ``mark``). One cache round trip."""
    if not targets:
        return {}
    keys = [t.key for t in targets] + [_generation_key(t.user_id) for t in targets]
    values = cache.get_many(keys)
    result = {}
    for target in targets:
        generation = values.get(_generation_key(target.user_id), 0)
        if values.get(target.key) != generation:
            result[target] = generation
    return result


def mark(target: Target, generation: int) -> None:
    """The target was refreshed under ``generation``: skip refreshes for about ``QUIET``
    seconds (a random part more, so that conversations that started together do not all
    come due together)."""
    cache.set(target.key, generation, timeout=QUIET + random.randint(0, QUIET // 2))


def mark_many(generations: dict[Target, int]) -> None:
    """``mark`` for many targets in one round trip (one timeout for all of them)."""
    if generations:
        timeout = QUIET + random.randint(0, QUIET // 2)
        cache.set_many({t.key: g for t, g in generations.items()}, timeout=timeout)


def reset(user_id: int) -> None:
    """The person read notifications: every refresh is due again."""
    cache.set(_generation_key(user_id), time.time_ns(), timeout=GENERATION_TTL)
