"""Which users may send as a creator account: the registry admins manage and ``fan_messages`` checks.

``model`` is the record and a page of them, ``store`` the port and its DynamoDB implementation
(the key layout is documented there), ``service`` the rules: who may change the registry, who
may read which part of it, and the one check the sending path calls before anything is spent.
"""

from shared.creator_accounts.model import AccountPage, CreatorAccount
from shared.creator_accounts.service import CreatorAccountService
from shared.creator_accounts.store import CreatorAccountStore, DynamoCreatorAccountStore

__all__ = ["AccountPage", "CreatorAccount", "CreatorAccountService", "CreatorAccountStore", "DynamoCreatorAccountStore"]
