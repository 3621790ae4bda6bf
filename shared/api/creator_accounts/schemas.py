"""Request and response models of ``/api/v2/creator-accounts``.

The account id in the path follows the rule ``fan_messages`` already applies to ``data.accountId``
(``shared.sending.ids``); user ids follow the one the other routes apply to ``userId``.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.api.alerts.threshold_schemas import USER_ID
from shared.api.schemas import envelope
from shared.core.models import CamelModel
from shared.creator_accounts.model import MAX_LINKED_USERS
from shared.sending.ids import ACCOUNT_ID_PATTERN, AccountId

UserId = Annotated[str, Field(pattern=USER_ID, description="A user id (the token's `sub`)")]


class LinkUsersRequest(BaseModel):
    """``PUT /api/v2/creator-accounts/{accountId}``: the whole set of users who may send as the account."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    user_ids: Annotated[
        list[UserId],
        Field(
            alias="userIds",
            min_length=1,
            max_length=MAX_LINKED_USERS,
            description="Replaces the set: 1-100 user ids, no repeats",
        ),
    ]

    @field_validator("user_ids")
    @classmethod
    def _no_repeated_users(cls, user_ids: list[str]) -> list[str]:
        repeated = sorted(user for user, count in Counter(user_ids).items() if count > 1)
        if repeated:
            raise ValueError(f"userIds must not repeat: {', '.join(repeated[:5])}")
        return user_ids


class CreatorAccountView(CamelModel):
    """One creator account and who may send as it."""

    account_id: AccountId
    user_ids: list[str] = Field(description="Users who may send as the account, sorted")
    updated_at: str = Field(description="ISO 8601 UTC")
    updated_by: str = Field(description="The admin who last set the users")
    tenant: str | None = Field(default=None, description="The tenant it was created under (null: none)")


class CreatorAccountsView(CamelModel):
    """A page of creator accounts, in account id order."""

    user_id: str | None = Field(description="Whose accounts these are; null: every account (admins)")
    tenant: str | None = Field(default=None, description="Tenant admins: only accounts of this tenant")
    accounts: list[CreatorAccountView]
    next_token: str | None = Field(default=None, description="Pass back as nextToken for the next page")


CreatorAccountEnvelope = envelope("CreatorAccountEnvelope", CreatorAccountView)
CreatorAccountsEnvelope = envelope("CreatorAccountsEnvelope", CreatorAccountsView)

__all__ = [
    "ACCOUNT_ID_PATTERN",
    "USER_ID",
    "CreatorAccountEnvelope",
    "CreatorAccountsEnvelope",
    "LinkUsersRequest",
]
