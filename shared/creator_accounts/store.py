"""The registry in its own DynamoDB table (``<prefix>-<stage>-creator-accounts``, keys ``pk``/``sk``).

Record:     pk ``ACCOUNT#<accountId>``, sk ``ACCOUNT`` — ``userIds``, ``updatedAtMs``, ``updatedBy``,
            ``version``. The authority: ``fan_messages`` reads it with one strongly consistent GetItem.
Directory:  pk ``ACCOUNTS``, sk ``<accountId>`` — the same attributes; an admin's listing of every
            account is a Query of this one partition in account id order (no Scan, no index).
            Only admins write it, so one partition takes its traffic easily; the sending path never
            reads it.
Link:       pk ``USER#<userId>``, sk ``ACCOUNT#<accountId>`` — "accounts of user X" is a Query.
Tenant:     pk ``TENANT#<tenant>#ACCOUNTS``, sk ``<accountId>`` — an account created under a tenant also has
            an entry in its tenant's directory (same attributes): a tenant admin's listing is one Query.
            The tenant is set when the account is created and never changes.

Replacing an account's set writes the record, its directory entry and only the links that change
(a Put per added user, a Delete per removed one) in one ``TransactWriteItems``, conditional on the
version read. A transaction holds at most 100 items and a full swap of 100 users is 202: the links
beyond what fits go first in their own transactions, and the record last. Because the record is
what the check reads, authorization always changes in one atomic write. A crash between those
transactions can leave a link the record does not back (listings read the records and leave it
out) or drop the link of a user the record still lists (they may still send; their own listing
misses the account): repeating the same PUT repairs both, since it diffs against the same record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from botocore.exceptions import ClientError

from shared.core.dynamo import deserialize_item, query_items, serialize_item
from shared.core.errors import CreatorAccountConflictError
from shared.creator_accounts.model import AccountPage, CreatorAccount

RECORD_SK = "ACCOUNT"
DIRECTORY_PK = "ACCOUNTS"
TENANT_PREFIX = "TENANT#"
ACCOUNT_PREFIX = "ACCOUNT#"
USER_PREFIX = "USER#"
MAX_TRANSACTION_ITEMS = 100
_CONFLICT_CODES = ("TransactionCanceledException", "TransactionConflict")


class CreatorAccountStore(Protocol):
    """The registry: records read strongly consistent, writes conditional on the version read."""

    def get(self, account_id: str) -> CreatorAccount | None: ...

    def save(self, account: CreatorAccount, previous: CreatorAccount | None) -> None: ...

    def delete(self, account: CreatorAccount) -> None: ...

    def page_all(self, limit: int, after: str | None) -> AccountPage: ...

    def page_of_user(self, user_id: str, limit: int, after: str | None) -> AccountPage: ...

    def page_of_tenant(self, tenant: str, limit: int, after: str | None) -> AccountPage: ...


def record_key(account_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"{ACCOUNT_PREFIX}{account_id}"}, "sk": {"S": RECORD_SK}}


def directory_key(account_id: str) -> dict[str, Any]:
    return {"pk": {"S": DIRECTORY_PK}, "sk": {"S": account_id}}


def tenant_directory_key(tenant: str, account_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"{TENANT_PREFIX}{tenant}#{DIRECTORY_PK}"}, "sk": {"S": account_id}}


def link_key(user_id: str, account_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"{USER_PREFIX}{user_id}"}, "sk": {"S": f"{ACCOUNT_PREFIX}{account_id}"}}


class DynamoCreatorAccountStore:
    """:class:`CreatorAccountStore` over the creator-accounts table, through a botocore client."""

    def __init__(self, table_name: str, client: Any) -> None:
        self._table = table_name
        self._client = client

    def get(self, account_id: str) -> CreatorAccount | None:
        """One strongly consistent GetItem of the record."""
        response = self._client.get_item(TableName=self._table, Key=record_key(account_id), ConsistentRead=True)
        return _account(deserialize_item(response["Item"])) if "Item" in response else None

    def save(self, account: CreatorAccount, previous: CreatorAccount | None) -> None:
        """Write ``account`` over ``previous`` (None: a new account); a concurrent change raises a conflict."""
        old, new = set(previous.user_ids) if previous else set(), set(account.user_ids)
        links = [self._put_link(user, account.account_id) for user in sorted(new - old)]
        links += [self._delete_link(user, account.account_id) for user in sorted(old - new)]
        attributes = _attributes(account)
        record: dict[str, Any] = {
            "TableName": self._table,
            "Item": {**record_key(account.account_id), **serialize_item(attributes)},
            **_version_condition(previous),
        }
        final: list[dict[str, Any]] = [{"Put": record}]
        for key in _directory_keys(account):
            final.append({"Put": {"TableName": self._table, "Item": {**key, **serialize_item(attributes)}}})
        self._write(links, final)

    def delete(self, account: CreatorAccount) -> None:
        """Remove the record, its directory entry and every link, conditional on the version read."""
        links = [self._delete_link(user, account.account_id) for user in account.user_ids]
        record = {"TableName": self._table, "Key": record_key(account.account_id), **_version_condition(account)}
        final: list[dict[str, Any]] = [{"Delete": record}]
        final += [{"Delete": {"TableName": self._table, "Key": key}} for key in _directory_keys(account)]
        self._write(links, final)

    def page_all(self, limit: int, after: str | None) -> AccountPage:
        """Every account, in id order: one Query of the directory (more only past DynamoDB's 1 MB page)."""
        params: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": DIRECTORY_PK}},
        }
        if after:
            params["ExclusiveStartKey"] = directory_key(after)
        items = self._query(params, limit + 1)
        accounts = [_account(deserialize_item(item)) for item in items]
        return _page(accounts, limit)

    def page_of_tenant(self, tenant: str, limit: int, after: str | None) -> AccountPage:
        """The accounts created under ``tenant``, in id order: one Query of its directory."""
        pk = tenant_directory_key(tenant, "")["pk"]
        params: dict[str, Any] = {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": pk}}
        if after:
            params["ExclusiveStartKey"] = tenant_directory_key(tenant, after)
        return _page([_account(deserialize_item(item)) for item in self._query(params, limit + 1)], limit)

    def page_of_user(self, user_id: str, limit: int, after: str | None) -> AccountPage:
        """The accounts ``user_id`` may send as: a Query of their links, then one BatchGetItem of the records
        (a link the record does not back is left out)."""
        params: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": f"{USER_PREFIX}{user_id}"}, ":prefix": {"S": ACCOUNT_PREFIX}},
        }
        if after:
            params["ExclusiveStartKey"] = link_key(user_id, after)
        ids = [str(item["sk"]["S"]).removeprefix(ACCOUNT_PREFIX) for item in self._query(params, limit + 1)]
        records = {a.account_id: a for a in self._get_records(ids[:limit])}
        accounts = [records[i] for i in ids[:limit] if i in records and records[i].allows(user_id)]
        return AccountPage(accounts, ids[limit - 1] if len(ids) > limit else None)

    def _put_link(self, user_id: str, account_id: str) -> dict[str, Any]:
        item = {**link_key(user_id, account_id), **serialize_item({"accountId": account_id, "userId": user_id})}
        return {"Put": {"TableName": self._table, "Item": item}}

    def _delete_link(self, user_id: str, account_id: str) -> dict[str, Any]:
        return {"Delete": {"TableName": self._table, "Key": link_key(user_id, account_id)}}

    def _write(self, links: Sequence[dict[str, Any]], final: Sequence[dict[str, Any]]) -> None:
        """The links that do not fit beside ``final`` first, 100 per transaction; then ``final`` with the rest."""
        split = max(0, len(links) - (MAX_TRANSACTION_ITEMS - len(final)))
        for start in range(0, split, MAX_TRANSACTION_ITEMS):
            self._transact(list(links[start : min(start + MAX_TRANSACTION_ITEMS, split)]))
        self._transact([*links[split:], *final])

    def _transact(self, items: list[dict[str, Any]]) -> None:
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _CONFLICT_CODES:
                raise CreatorAccountConflictError("The creator account changed meanwhile; try again.") from exc
            raise

    def _query(self, params: dict[str, Any], wanted: int) -> list[dict[str, Any]]:
        """Up to ``wanted`` items, strongly consistent, following DynamoDB's pages until there are enough."""
        return query_items(self._client, {"TableName": self._table, "ConsistentRead": True, **params}, wanted)

    def _get_records(self, account_ids: Sequence[str]) -> list[CreatorAccount]:
        """One BatchGetItem (at most 100 keys, as a page is), again for any keys DynamoDB left unprocessed."""
        if not account_ids:
            return []
        request: dict[str, Any] = {self._table: {"Keys": [record_key(i) for i in account_ids], "ConsistentRead": True}}
        found: list[CreatorAccount] = []
        while request:
            response = self._client.batch_get_item(RequestItems=request)
            found += [_account(deserialize_item(item)) for item in response.get("Responses", {}).get(self._table, [])]
            request = response.get("UnprocessedKeys") or {}
        return found


def _attributes(account: CreatorAccount) -> dict[str, Any]:
    return {
        "accountId": account.account_id,
        "userIds": list(account.user_ids),
        "updatedAtMs": round(account.updated_at * 1000),
        "updatedBy": account.updated_by,
        "version": account.version,
        **({"tenant": account.tenant} if account.tenant is not None else {}),
    }


def _directory_keys(account: CreatorAccount) -> list[dict[str, Any]]:
    """Everyone's directory entry, and the tenant's when the account has one."""
    keys = [directory_key(account.account_id)]
    if account.tenant is not None:
        keys.append(tenant_directory_key(account.tenant, account.account_id))
    return keys


def _account(item: dict[str, Any]) -> CreatorAccount:
    return CreatorAccount(
        account_id=str(item["accountId"]),
        user_ids=tuple(str(u) for u in item.get("userIds", [])),
        updated_at=int(item["updatedAtMs"]) / 1000,
        updated_by=str(item.get("updatedBy", "")),
        version=int(item.get("version", 1)),
        tenant=str(item["tenant"]) if item.get("tenant") is not None else None,
    )


def _version_condition(previous: CreatorAccount | None) -> dict[str, Any]:
    """Write only over the version read (a new account: only where none exists)."""
    if previous is None:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    return {
        "ConditionExpression": "version = :version",
        "ExpressionAttributeValues": {":version": {"N": str(previous.version)}},
    }


def _page(accounts: list[CreatorAccount], limit: int) -> AccountPage:
    """The first ``limit`` of ``limit + 1`` read; the extra one only says there is more."""
    more = len(accounts) > limit
    return AccountPage(accounts[:limit], accounts[limit - 1].account_id if more else None)
