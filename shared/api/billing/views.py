"""``/api/v2/billing/statements``: who may read which tenant's statement, and its JSON and CSV forms.

Access (:func:`stated_tenant`): a platform admin reads any tenant's (``tenant`` required unless their token
has one); a tenant admin (scope ``tenant_admin`` with a ``tenant`` claim) reads their own tenant's,
``tenant`` absent meaning theirs, another tenant a 404 as if it did not exist; anyone else a 403.

CSV: header ``dimension,key,calls,inputTokens,outputTokens,cachedTokens,costNanos,costMicros,costUsd,revenueMicros,
revenueUsd,roiMicros,roiUsd,roiRatio,replies``, a ``total`` row first, then one row per (dimension, value);
``costUsd`` exact to the nano-dollar (nine decimals), as the export writes it. The revenue columns are
filled on the total and ``campaign`` rows only (empty on the others), with the JSON's figures.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from shared.api.billing.schemas import (
    StatementCampaignLineView,
    StatementLineView,
    StatementTotalView,
    StatementView,
)
from shared.api.costs.report_views import CSV_MEDIA_TYPE, csv_cell, exact_usd
from shared.api.costs.return_on_cost import return_on
from shared.api.envelope import success
from shared.billing.statements import MonthNotStatedError, Statement, Statements
from shared.core.errors import ForbiddenError, TenantNotFoundError
from shared.core.identity import Caller
from shared.core.pricing import usd_amount
from shared.core.time import iso_timestamp
from shared.ledger.revenue import RevenueTotals
from shared.ledger.store import Counters

CSV_HEADER = (
    "dimension",
    "key",
    "calls",
    "inputTokens",
    "outputTokens",
    "cachedTokens",
    "costNanos",
    "costMicros",
    "costUsd",
    "revenueMicros",
    "revenueUsd",
    "roiMicros",
    "roiUsd",
    "roiRatio",
    "replies",
)


def stated_tenant(caller: Caller, tenant: str | None) -> str:
    """Whose statement the caller may read: 403 for callers who administer nothing, 404 for another tenant."""
    if not caller.is_admin and not caller.is_tenant_admin:
        raise ForbiddenError("Statements are for admins and tenant admins.")
    wanted = tenant or caller.tenant
    if wanted is None:
        _invalid("tenant", "name the tenant (the token has no tenant claim)", "missing")
    if not caller.administers(str(wanted)):
        raise TenantNotFoundError("No such tenant.")
    return str(wanted)


def statement_response(statements: Statements, tenant: str, month: str, file_format: str) -> Response[dict | str]:
    """The statement as the envelope's JSON, or as a CSV attachment."""
    try:
        statement = statements.statement(tenant, month)
    except MonthNotStatedError:
        _invalid("month", f"{month} is in the future (UTC)")
    if file_format == "csv":
        return Response(
            200,
            f"{CSV_MEDIA_TYPE}; charset=utf-8",
            statement_csv(statement),
            headers={"Content-Disposition": f'attachment; filename="statement_{_filename_part(tenant)}_{month}.csv"'},
        )
    return success(statement_view(statement).model_dump(by_alias=True))


def statement_view(statement: Statement) -> StatementView:
    """The JSON form: each line and the total rounded once, from their exact nanos."""
    by = {dimension: [_line(line.key, line.counters) for line in statement.of(dimension)] for dimension in _PLAIN}
    return StatementView(
        tenant=statement.tenant,
        month=statement.month,
        final=statement.final,
        generated_at=iso_timestamp(statement.generated_at),
        total=StatementTotalView(**_spend(statement.total), **return_on(statement.revenue_total, statement.total)),
        by_user=by["user"],
        by_type=by["type"],
        by_model=by["model"],
        by_campaign=[
            StatementCampaignLineView(
                key=line.key, **_spend(line.counters), **return_on(statement.revenue_of(line.key), line.counters)
            )
            for line in statement.of("campaign")
        ],
    )


def statement_csv(statement: Statement) -> str:
    """The CSV form (RFC 4180): the total, then every line of every dimension."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    lines = (
        (
            line.dimension,
            line.key,
            line.counters,
            statement.revenue_of(line.key) if line.dimension == "campaign" else None,
        )
        for line in statement.lines
    )
    rows = [("total", "ALL", statement.total, statement.revenue_total), *lines]
    for dimension, key, c, revenue in rows:
        writer.writerow(
            (
                dimension,
                csv_cell(key),
                c.requests,
                c.tokens_in,
                c.tokens_out,
                c.cached_tokens,
                c.nanos,
                c.micros,
                exact_usd(c.nanos),
                *_return_cells(revenue, c),
            )
        )
    return buffer.getvalue()


def _return_cells(revenue: RevenueTotals | None, cost: Counters) -> tuple[object, ...]:
    """The revenue columns of a row: the JSON's figures (USD exact to the nano), empty on a row without revenue."""
    if revenue is None:
        return ("",) * 6
    figures = return_on(revenue, cost)
    ratio = figures["roi_ratio"]
    return (
        figures["revenue_micros"],
        exact_usd(revenue.revenue_nanos),
        figures["roi_micros"],
        exact_usd(revenue.revenue_nanos - cost.nanos),
        "" if ratio is None else ratio,
        figures["replies"],
    )


_PLAIN = ("user", "type", "model")  # the dimensions without revenue


def valid_month(month: str | None, today: date) -> str:
    """The asked month, or the current one (UTC)."""
    return month or f"{today:%Y-%m}"


def _filename_part(text: str) -> str:
    """A header-safe file name part: tenant ids may hold any character but ``#`` and white space."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def _line(key: str, counters: Counters) -> StatementLineView:
    return StatementLineView(key=key, **_spend(counters))


def _spend(c: Counters) -> dict:
    return {
        "cost": usd_amount(c.micros),
        "cost_micros": c.micros,
        "cost_nanos": c.nanos,
        "cached_tokens": c.cached_tokens,
        "requests": c.requests,
        "tokens": {"input": c.tokens_in, "output": c.tokens_out, "total": c.tokens_total},
    }


def _invalid(field: str, message: str, kind: str = "value_error") -> None:
    """A 422 naming a query parameter, the shape of Powertools' own validation errors."""
    raise RequestValidationError([{"loc": ("query", field), "msg": message, "type": kind}])
