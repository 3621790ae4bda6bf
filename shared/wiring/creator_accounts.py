"""Creator accounts: who may send as which creator account (the creator-accounts table)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from shared.config.settings import get_settings
from shared.wiring.aws import dynamodb_client

if TYPE_CHECKING:
    from shared.creator_accounts import CreatorAccountService


@lru_cache(maxsize=1)
def creator_account_service() -> CreatorAccountService:
    """Who may send as which creator account, in the creator-accounts table."""
    from shared.creator_accounts import CreatorAccountService, DynamoCreatorAccountStore

    return CreatorAccountService(
        DynamoCreatorAccountStore(get_settings().creator_accounts_table_name, dynamodb_client())
    )
