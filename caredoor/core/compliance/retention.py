"""Retention hooks: the apps that hold personal data register how to purge it by age.

A purger is ``purger(brand, before) -> int``: remove (or strip to a trace) that app's
records on ``brand`` created before ``before``, audit what it did with counts only, and
return how many records it purged. Apps register theirs in ``AppConfig.ready()``
(``messaging`` registers ``messaging.messages``). This module only keeps the list: the
policy that decides ``before`` per brand and record type, and the job that runs the
purgers, belong to the compliance issue that comes later and calls ``purgers()``.

This is the bottom layer, so it names brands as ``Any`` and imports no app.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

Purger = Callable[[Any, datetime], int]

_REGISTRY: dict[str, Purger] = {}


def register(name: str, purger: Purger) -> Purger:
    """Register ``purger`` under ``name`` (``<app>.<records>``). Registering the same
    function again is a no-op (``ready()`` may run twice); another function under a name
    already taken is a programming error."""
    if not name or not callable(purger):
        raise ValueError("a purger needs a name and a callable")
    current = _REGISTRY.get(name)
    if current is not None and current is not purger:
        raise ValueError(f"a different purger is already registered as {name!r}")
    _REGISTRY[name] = purger
    return purger


def purgers() -> dict[str, Purger]:
    """Every registered purger by name, in registration order (a copy)."""
    return dict(_REGISTRY)


def purge(brand: Any, before: datetime, names: list[str] | None = None) -> dict[str, int]:
    """Run the purgers (all, or those named) for ``brand`` and ``before``; returns how
    many records each purged. Each purger runs in its own transaction."""
    chosen = purgers() if names is None else {n: _REGISTRY[n] for n in names}
    return {name: purger(brand, before) for name, purger in chosen.items()}
