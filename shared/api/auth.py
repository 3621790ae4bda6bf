"""The caller, from the claims API Gateway's JWT authorizer already verified (handlers never verify tokens)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.errors import ForbiddenError, UnauthenticatedError
from shared.models import Caller

ADMIN = "admin"


def caller_from_claims(claims: Mapping[str, Any] | None) -> Caller:
    """Build the caller; API Gateway renders every claim as a string, arrays as ``"[a b]"``."""
    if not claims or not claims.get("sub"):
        raise UnauthenticatedError("A valid bearer token is required.")
    roles = _words(claims.get("scope")) | _words(claims.get("groups")) | _words(claims.get("cognito:groups"))
    tenant = claims.get("tenant")
    return Caller(user_id=str(claims["sub"]), is_admin=ADMIN in roles, tenant=str(tenant) if tenant else None)


def require_admin(caller: Caller) -> None:
    """Admin routes: a known caller without the admin scope or group is forbidden, not unknown."""
    if not caller.is_admin:
        raise ForbiddenError("This route needs the admin scope.")


def _words(value: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, list | tuple | set):
        return {str(item) for item in value}
    text = str(value).strip().removeprefix("[").removesuffix("]")
    return {word for word in text.replace(",", " ").split() if word}
