"""The caller, from what API Gateway's JWT authorizer already verified (handlers never verify tokens).

Admin comes from one place: the token's scopes as API Gateway parses them into
``requestContext.authorizer.jwt.scopes`` (from the ``scope`` claim, space-separated, or ``scp``).
A scope is one exact word, so neither ``groups``/``cognito:groups`` (free-form names such as
"billing admin") nor a claim the authorizer merely stringifies can grant it. Admin routes also
carry the scope as the route's ``authorization_scopes`` in API Gateway (a second gate).

The ``sub`` becomes part of DynamoDB keys (``USER#<sub>``, ``THRESHOLDS#<sub>``, ``<wf>#<fan>``),
so a subject that could be read as another key or a reserved owner is refused outright (401).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.core.errors import ForbiddenError, UnauthenticatedError
from shared.core.identity import Caller

ADMIN = "admin"
TENANT_ADMIN = "tenant_admin"  # with a ``tenant`` claim: that tenant's admin (nothing without the claim)
# Owner ids the key layout gives a meaning of its own: "ALL" is the global scope of counters and
# thresholds (shared/ledger/keys.py TOTAL, shared/alerts/thresholds.py GLOBAL_OWNER).
RESERVED_USER_IDS = frozenset({"ALL"})
MAX_USER_ID_LENGTH = 256
# "#" separates the parts of every key; a subject holding one could name another user's items.
_KEY_SEPARATOR = "#"


def caller_from_claims(claims: Mapping[str, Any] | None, scopes: Iterable[str] | None = None) -> Caller:
    """Build the caller from the verified claims and the authorizer's parsed ``scopes``."""
    if not claims:
        raise UnauthenticatedError("A valid bearer token is required.")
    user_id = _valid_subject(claims.get("sub"))
    tenant = str(claims["tenant"]) if claims.get("tenant") else None
    granted = set(scopes or ())
    return Caller(
        user_id=user_id,
        is_admin=ADMIN in granted,
        tenant=tenant,
        is_tenant_admin=TENANT_ADMIN in granted and tenant is not None,
    )


def require_admin(caller: Caller) -> None:
    """Admin routes: a known caller without the admin scope is forbidden, not unknown."""
    if not caller.is_admin:
        raise ForbiddenError("This route needs the admin scope.")


def _valid_subject(sub: Any) -> str:
    """The ``sub`` as a user id, or a 401 when it is empty, unprintable, key-like or reserved.

    Leading or trailing white space is refused too (rather than trimmed), so " u1" can never be
    shown as, or confused with, "u1".
    """
    user_id = "" if sub is None else str(sub)
    if not user_id.strip():
        raise UnauthenticatedError("The token's subject is empty.")
    if (
        user_id != user_id.strip()
        or not user_id.isprintable()
        or _KEY_SEPARATOR in user_id
        or len(user_id) > MAX_USER_ID_LENGTH
        or user_id in RESERVED_USER_IDS
    ):
        raise UnauthenticatedError("The token's subject is not an acceptable user id.")
    return user_id
