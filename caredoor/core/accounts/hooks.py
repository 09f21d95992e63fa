"""Where third-party code offers only signals (allauth MFA), we connect them to actions.

This is the one sanctioned use of signals: translating a library's events into our
actions. Domain logic never hangs off signals.
"""

from __future__ import annotations

from typing import Any


def _on_added(
    sender: Any, request: Any = None, user: Any = None, authenticator: Any = None, **kwargs: Any
) -> None:
    from caredoor.core.accounts.actions import do_record_mfa_change

    do_record_mfa_change(request, user, "added", authenticator.type)


def _on_removed(
    sender: Any, request: Any = None, user: Any = None, authenticator: Any = None, **kwargs: Any
) -> None:
    from caredoor.core.accounts.actions import do_record_mfa_change

    do_record_mfa_change(request, user, "removed", authenticator.type)


def _on_reset(
    sender: Any, request: Any = None, user: Any = None, authenticator: Any = None, **kwargs: Any
) -> None:
    from caredoor.core.accounts.actions import do_record_mfa_change

    do_record_mfa_change(request, user, "reset", authenticator.type)


def connect() -> None:
    from allauth.mfa import signals

    signals.authenticator_added.connect(_on_added, dispatch_uid="caredoor.mfa.added")
    signals.authenticator_removed.connect(_on_removed, dispatch_uid="caredoor.mfa.removed")
    signals.authenticator_reset.connect(_on_reset, dispatch_uid="caredoor.mfa.reset")
