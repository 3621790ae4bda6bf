"""Local JWTs: what the platform's identity provider would issue, signed with ``JWT_SECRET``.

``make token USER=u1 [ADMIN=1] [TENANT=acme] [SCOPES=tenant_admin]`` prints one; tests call
:func:`make_token`. The issuer and audience are the ones the local server's authorizer accepts
(cdk.json's ``jwtIssuer`` and first ``jwtAudience``), so a printed token works against ``make run`` as is.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import jwt

from local.events import DEFAULT_JWT_SECRET
from local.template import jwt_settings


def jwt_secret() -> str:
    """``JWT_SECRET`` from the environment, else the documented local default."""
    return os.environ.get("JWT_SECRET") or DEFAULT_JWT_SECRET


def make_token(
    user: str,
    admin: bool = False,
    ttl: int = 3600,
    secret: str | None = None,
    scopes: tuple[str, ...] = (),
    **extra: Any,
) -> str:
    """An HS256 JWT for ``user``: ``scope`` "user" ("user admin" for admins: admin is a scope only), then
    any further ``scopes`` (e.g. ``tenant_admin``).

    ``extra`` claims are added as given and may override the defaults (e.g. ``exp`` in the past,
    ``iss`` of another issuer) so tests can build every kind of bad token.
    """
    issuer, audiences = jwt_settings()
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": user,
        "iss": issuer,
        "aud": audiences[0],
        "iat": now,
        "exp": now + ttl,
        "scope": " ".join(dict.fromkeys(["user", *(["admin"] if admin else []), *scopes])),
    }
    claims.update({k: v for k, v in extra.items() if v is not None})
    return jwt.encode(claims, secret or jwt_secret(), algorithm="HS256")


def main(argv: list[str] | None = None) -> None:
    """Print a token: ``python -m local.token --user u1 [--admin] [--ttl 3600] [--tenant t] [--scopes "a b"]``."""
    parser = argparse.ArgumentParser(description="Print a local HS256 JWT for the local API.")
    parser.add_argument("--user", required=True, help="the token's subject (sub)")
    parser.add_argument("--admin", action="store_true", help="add the admin scope")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds until it expires (default 3600)")
    parser.add_argument("--tenant", default=None, help="optional tenant claim")
    parser.add_argument("--scopes", default="", help="more scopes, space- or comma-separated (e.g. tenant_admin)")
    args = parser.parse_args(argv)
    extra_scopes = tuple(s for s in args.scopes.replace(",", " ").split() if s)
    print(make_token(args.user, admin=args.admin, ttl=args.ttl, tenant=args.tenant or None, scopes=extra_scopes))


if __name__ == "__main__":
    main()
