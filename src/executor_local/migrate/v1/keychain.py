"""v1 secrets kept in the OS keychain, copied to their v2 item ids where a keychain works.

Executor v1 stored a ``keychain`` secret under service ``<base>/<scope id>`` with the secret id
as account; v2 looks items up under service ``<base>`` by item id (``<base>`` is
``$EXECUTOR_KEYCHAIN_SERVICE_NAME`` or ``executor``). The copy never deletes the v1 item, so
nothing is lost when it cannot be made: then the plan's warning says which secrets stay where.

``keyring`` is optional (its Linux backend needs compiled code the one-file bundle cannot carry);
it is imported only when the plan has keychain secrets at all.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Protocol

log = logging.getLogger("executor.migrate")

SERVICE_ENV = "EXECUTOR_KEYCHAIN_SERVICE_NAME"


class Copy(Protocol):
    item_id: str
    scope_id: str
    secret_id: str


def service_base() -> str:
    return os.environ.get(SERVICE_ENV) or "executor"


def copy_keychain_items(copies: Sequence[Copy]) -> list[str]:
    """Copy each v1 keychain secret to its v2 item id; returns warnings for what could not be."""
    if not copies:
        return []
    base = service_base()
    ids = ", ".join(sorted(c.secret_id for c in copies))
    try:
        import keyring
        import keyring.errors

        backend = keyring.get_keyring()
        if getattr(backend, "priority", 1) <= 0:  # keyring's fail/null backends
            raise RuntimeError(f"no usable keychain backend ({type(backend).__name__})")
    except Exception as exc:  # no keyring, or no keychain on this machine: keep, and say so
        return [f"{len(copies)} secret(s) live in the OS keychain ({ids}) and could not be "
                f"copied to their v2 item ids ({type(exc).__name__}: {exc}); they stay in the "
                f"keychain under service '{base}/<scope>', untouched."]
    warnings = []
    for c in copies:
        try:
            value = keyring.get_password(f"{base}/{c.scope_id}", c.secret_id)
            if value is None:
                warnings.append(f'Could not resolve keychain secret "{c.secret_id}" '
                                f"(service '{base}/{c.scope_id}').")
                continue
            keyring.set_password(base, c.item_id, value)
        except keyring.errors.KeyringError as exc:
            warnings.append(f'Could not copy keychain secret "{c.secret_id}": {exc}')
    log.debug("migrate: copied %d keychain secret(s)", len(copies) - len(warnings))
    return warnings
