"""Who is calling, as every feature's authorization rules see it."""

from __future__ import annotations

from pydantic import BaseModel


class Caller(BaseModel):
    """Who is calling, from the claims API Gateway's JWT authorizer verified."""

    user_id: str
    is_admin: bool = False
    tenant: str | None = None
    tenant_admin: bool = False  # the ``tenant_admin`` scope; it grants something only with a tenant

    @property
    def is_tenant_admin(self) -> bool:
        """Manages what was created under their own tenant: the scope and a tenant claim, both."""
        return self.tenant_admin and self.tenant is not None

    def can_read(self, owner_id: str, tenant: str | None = None) -> bool:
        """Owners read their own items; admins read all; a tenant admin reads what carries their tenant."""
        return self.is_admin or self.user_id == owner_id or self.manages_tenant(tenant)

    def manages_tenant(self, tenant: str | None) -> bool:
        """A tenant admin of exactly this tenant (an item without a tenant is nobody's tenant's)."""
        return self.is_tenant_admin and tenant is not None and tenant == self.tenant

    def administers(self, tenant_id: str) -> bool:
        """Platform admins administer every tenant; a tenant admin only their own (caps, statements)."""
        return self.is_admin or self.manages_tenant(tenant_id)
