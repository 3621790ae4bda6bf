"""Who is calling, as every feature's authorization rules see it."""

from __future__ import annotations

from pydantic import BaseModel


class Caller(BaseModel):
    """Who is calling, from the claims API Gateway's JWT authorizer verified."""

    user_id: str
    is_admin: bool = False
    tenant: str | None = None
    # Scope ``tenant_admin`` with a ``tenant`` claim: manages that tenant's spend, caps and statements.
    is_tenant_admin: bool = False

    def can_read(self, owner_id: str) -> bool:
        """Owners read their own workflows; admins read all."""
        return self.is_admin or self.user_id == owner_id

    def administers(self, tenant_id: str) -> bool:
        """Platform admins administer every tenant; a tenant admin only their own."""
        return self.is_admin or (self.is_tenant_admin and self.tenant == tenant_id)
