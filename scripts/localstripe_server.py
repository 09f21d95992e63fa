"""Run localstripe, the local Stripe stand-in, with its store where we say.

localstripe keeps its objects in /tmp/localstripe.pickle, one file for every instance on
the machine, so the demo and a test run would overwrite each other's payments. Here the
store is ``$LOCALSTRIPE_STORE`` (the demo: var/localstripe.pickle, kept across runs so
the demo's payments and Stripe's agree) or nowhere when it is empty (tests: each run starts
empty). Everything else is localstripe's own server: ``--port`` and ``--from-scratch``.
"""

from __future__ import annotations

import os
import pickle
import sys

from localstripe import resources, server

STORE = os.environ.get("LOCALSTRIPE_STORE", "")


def _load(self: resources.Store) -> None:
    if not STORE:
        return
    try:
        with open(STORE, "rb") as handle:
            old = pickle.load(handle)  # noqa: S301 - our own file, written below
    except (FileNotFoundError, EOFError):
        return
    self.clear()
    self.update(old)


def _dump(self: resources.Store) -> None:
    if not STORE:
        return
    partial = f"{STORE}.tmp"
    with open(partial, "wb") as handle:
        pickle.dump(dict(self), handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(partial, STORE)


resources.Store.try_load_from_disk = _load  # type: ignore[method-assign]
resources.Store.dump_to_disk = _dump  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.argv[0] = "localstripe"
    server.start()
