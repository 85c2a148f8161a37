"""COQL: ``SELECT ... FROM ... WHERE ...`` queries, paged 200 rows a call up to Zoho's 10,000."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bigin_async.errors import ValidationError
from bigin_async.models import Page, Record
from bigin_async.models.modules import model_for
from bigin_async.pagination import AsyncPaginator, PageParser, PageRequest, ProgressCallback
from bigin_async.resources._base import APIResource

if TYPE_CHECKING:
    from bigin_async._transport import Transport

__all__ = ["COQL_MAX_ROWS", "CoqlClient", "coql_paginator"]

COQL_MAX_ROWS = 10_000
_FROM = re.compile(r"\bfrom\s+([A-Za-z][A-Za-z0-9_]*)", re.IGNORECASE)
_LIMIT = re.compile(r"\s+limit\s+(\d+)(?:\s*,\s*(\d+))?(?:\s+offset\s+(\d+))?\s*;?\s*$", re.IGNORECASE)


class CoqlClient(APIResource):
    """``/coql``: rows of ``SELECT`` queries. Reach it as ``bigin.coql(query)``."""

    def query(
        self,
        query: str,
        *,
        per_page: int = 200,
        max_records: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> AsyncPaginator[Record]:
        """Rows of a COQL query; the paginator adds ``LIMIT offset, count`` to walk the result.

        A ``LIMIT``/``OFFSET`` already in the query is honoured as the window to read.
        """
        if not isinstance(query, str) or not query.strip().lower().startswith("select"):
            raise ValidationError("a COQL query starts with SELECT")
        body = query.strip().rstrip(";")
        start = 0
        limit = _LIMIT.search(body)
        if limit:
            first, second, offset = limit.groups()
            if second is not None:  # LIMIT offset, count
                start, count = int(first), int(second)
            else:
                count, start = int(first), int(offset or 0)
            body = body[: limit.start()]
            max_records = min(count, max_records) if max_records else count
        if start + (max_records or 0) > COQL_MAX_ROWS:
            raise ValidationError(f"COQL reaches at most {COQL_MAX_ROWS} rows (offset + limit)")
        module = _FROM.search(body)
        model = model_for(module.group(1)) if module else Record

        async def fetch(path: str, params: Mapping[str, Any], parse: PageParser) -> Page[Any]:
            size = int(params["per_page"])
            offset = start + (int(params["page"]) - 1) * size
            query = {"select_query": f"{body} limit {offset}, {size}"}
            return await self._send("POST", path, parse, json=query, idempotent=True)

        request = PageRequest(
            path="/coql",
            params={},
            supports_tokens=False,
            page_wall=COQL_MAX_ROWS - start,
            wall_advice=(
                f"COQL reaches at most {COQL_MAX_ROWS} rows of one query. Split it with WHERE conditions "
                "(ranges of id or Created_Time) and run each part, or use list() with page tokens"
            ),
        )
        return self._paginator(
            request, model, per_page=per_page, max_records=max_records, on_progress=on_progress, fetch=fetch
        )


def coql_paginator(
    transport: Transport,
    query: str,
    *,
    per_page: int = 200,
    max_records: int | None = None,
    on_progress: ProgressCallback | None = None,
) -> AsyncPaginator[Record]:
    """Rows of a COQL query on ``transport`` (see :meth:`CoqlClient.query`)."""
    return CoqlClient(transport).query(
        query, per_page=per_page, max_records=max_records, on_progress=on_progress
    )
