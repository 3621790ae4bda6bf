"""The caller, from what API Gateway's JWT authorizer already verified (handlers never verify tokens).

Admin comes from one place: the token's scopes as API Gateway parses them into
``requestContext.authorizer.jwt.scopes`` (from the ``scope`` claim, space-separated, or ``scp``).
A scope is one exact word, so neither ``groups``/``cognito:groups`` (free-form names such as
"billing admin") nor a claim the authorizer merely stringifies can grant it. Admin routes also
carry the scope as the route's ``authorization_scopes`` in API Gateway (a second gate).

The ``sub`` becomes part of DynamoDB keys (``USER#<sub>``, ``THRESHOLDS#<sub>``, ``<wf>#<fan>``),
so a subject that could be read as another key or a reserved owner is refused outright (401); so is
such a ``tenant`` claim (``TENANT#<tenant>`` counters). A tenant admin is the ``tenant_admin`` scope with a
tenant claim: without a tenant the scope grants nothing (:attr:`Caller.is_tenant_admin`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.core.errors import ForbiddenError, UnauthenticatedError
from shared.core.identity import Caller

ADMIN = "admin"
TENANT_ADMIN = "tenant_admin"  # manages their own tenant's items; nothing without a tenant claim
MAX_TENANT_ID_LENGTH = 128
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
    granted = set(scopes or ())
    return Caller(
        user_id=user_id,
        is_admin=ADMIN in granted,
        tenant=_valid_tenant(claims.get("tenant")),
        tenant_admin=TENANT_ADMIN in granted,
    )


def require_admin(caller: Caller) -> None:
    """Admin routes: a known caller without the admin scope is forbidden, not unknown."""
    if not caller.is_admin:
        raise ForbiddenError("This route needs the admin scope.")


def require_admin_or_tenant_admin(caller: Caller) -> None:
    """Routes a tenant admin may use too (their handlers then check the item's tenant)."""
    if not (caller.is_admin or caller.is_tenant_admin):
        raise ForbiddenError("This route needs the admin or tenant_admin scope (with a tenant).")


def _valid_tenant(tenant: Any) -> str | None:
    """The ``tenant`` claim as a tenant id (absent or empty: no tenant), or a 401 like a bad ``sub``.

    It becomes part of keys (``TENANT#<tenant>``), so it follows the subject's rules, at most 128 characters.
    """
    if tenant is None or tenant == "":
        return None
    text = str(tenant)
    if not text.strip() or not _is_acceptable_id(text, MAX_TENANT_ID_LENGTH):
        raise UnauthenticatedError("The token's tenant is not an acceptable tenant id.")
    return text


def _valid_subject(sub: Any) -> str:
    """The ``sub`` as a user id, or a 401 when it is empty, unprintable, key-like or reserved.

    Leading or trailing white space is refused too (rather than trimmed), so " u1" can never be
    shown as, or confused with, "u1".
    """
    user_id = "" if sub is None else str(sub)
    if not user_id.strip():
        raise UnauthenticatedError("The token's subject is empty.")
    if not _is_acceptable_id(user_id, MAX_USER_ID_LENGTH):
        raise UnauthenticatedError("The token's subject is not an acceptable user id.")
    return user_id


def _is_acceptable_id(text: str, max_length: int) -> bool:
    """One rule for ids that end up in keys: no edge white space, printable, no key separator, not too long,
    not reserved."""
    return (
        text == text.strip()
        and text.isprintable()
        and _KEY_SEPARATOR not in text
        and len(text) <= max_length
        and text not in RESERVED_USER_IDS
    )
