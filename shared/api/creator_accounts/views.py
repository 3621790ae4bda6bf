"""``/api/v2/creator-accounts``: the registry's records as the API shows them, and its page tokens."""

from __future__ import annotations

import re

from aws_lambda_powertools.event_handler import Response

from shared.api.creator_accounts.schemas import CreatorAccountsView, CreatorAccountView
from shared.api.envelope import success
from shared.api.page_tokens import decode_page_token, encode_page_token
from shared.core.identity import Caller
from shared.core.time import iso_timestamp
from shared.creator_accounts.model import AccountListing, AccountPage, CreatorAccount
from shared.creator_accounts.service import CreatorAccountService
from shared.sending.ids import ACCOUNT_ID_PATTERN

_ACCOUNT_ID = re.compile(ACCOUNT_ID_PATTERN)


def account_view(account: CreatorAccount) -> CreatorAccountView:
    """The wire form of one account."""
    return CreatorAccountView(
        account_id=account.account_id,
        user_ids=list(account.user_ids),
        updated_at=iso_timestamp(account.updated_at),
        updated_by=account.updated_by,
        tenant=account.tenant,
    )


def account_response(account: CreatorAccount) -> Response[dict]:
    """One account (200)."""
    return success(account_view(account).model_dump(by_alias=True))


def listing_response(
    accounts: CreatorAccountService, caller: Caller, user_id: str | None, limit: int, next_token: str | None
) -> Response[dict]:
    """One page of the accounts the caller may list (see :meth:`CreatorAccountService.whose_accounts`)."""
    listing = accounts.whose_accounts(caller, user_id)
    after = decode_page_token(next_token, listing.name, _ACCOUNT_ID) if next_token else None
    page = accounts.page(listing, limit, after)
    return _page_response(page, listing)


def _page_response(page: AccountPage, listing: AccountListing) -> Response[dict]:
    view = CreatorAccountsView(
        user_id=listing.user_id,
        tenant=listing.tenant,
        accounts=[account_view(a) for a in page.accounts],
        next_token=encode_page_token(listing.name, page.last) if page.last else None,
    )
    return success(view.model_dump(by_alias=True))
