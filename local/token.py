"""Local JWTs: what the platform's identity provider would issue, signed with ``JWT_SECRET``.

``make token USER=u1 [ADMIN=1]`` prints one; tests call :func:`make_token`. The issuer and
audience are the ones the local server's authorizer accepts (cdk.json's ``jwtIssuer`` and first
``jwtAudience``), so a printed token works against ``make run`` as is.
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


def make_token(user: str, admin: bool = False, ttl: int = 3600, secret: str | None = None, **extra: Any) -> str:
    """An HS256 JWT for ``user``: ``scope`` "user" ("user admin" for admins: admin is a scope only).

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
        "scope": "user admin" if admin else "user",
    }
    claims.update({k: v for k, v in extra.items() if v is not None})
    return jwt.encode(claims, secret or jwt_secret(), algorithm="HS256")


def main(argv: list[str] | None = None) -> None:
    """Print a token: ``python -m local.token --user u1 [--admin] [--ttl 3600] [--tenant t]``."""
    parser = argparse.ArgumentParser(description="Print a local HS256 JWT for the local API.")
    parser.add_argument("--user", required=True, help="the token's subject (sub)")
    parser.add_argument("--admin", action="store_true", help="add the admin scope")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds until it expires (default 3600)")
    parser.add_argument("--tenant", default=None, help="optional tenant claim")
    args = parser.parse_args(argv)
    print(make_token(args.user, admin=args.admin, ttl=args.ttl, tenant=args.tenant))


if __name__ == "__main__":
    main()
