"""Per-record results of a write (insert, update, upsert, delete, link, watch).

Bigin answers a batch with one entry per input record, in input order, and a batch can partly
fail under a 2xx status: callers must read every entry, so each becomes a ``WriteResult`` with
``.ok``. Envelopes are ``{"data": [...]}`` for records and ``{"watch": [...]}`` for notification
channels; ``details`` differs by path (a bulk PUT returns only ``Modified_Time`` and ``id``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bigin_async.models.base import BiginModel, Id

__all__ = ["WriteAction", "WriteResult", "parse_write_results"]

# The values Bigin uses (upserts say insert/update; the SDK marks deletes itself). Typed as str
# on the model so that a value Zoho adds later is kept instead of failing the whole batch.
WriteAction = Literal["insert", "update", "delete"]


class WriteResult(BiginModel):
    """One record's outcome: ``code``/``status``/``message``, ``details``, upsert ``action``."""

    id: Id | None = None
    code: str | None = None
    status: str | None = None
    message: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    action: WriteAction | str | None = None
    duplicate_field: str | None = None

    @model_validator(mode="after")
    def _id_from_details(self) -> WriteResult:
        # The record id sits in details (for DUPLICATE_DATA: the id of the existing record).
        if self.id is None:
            detail_id = self.details.get("id")
            if isinstance(detail_id, (str, int)) and not isinstance(detail_id, bool):
                self.id = str(detail_id)
        return self

    @property
    def ok(self) -> bool:
        """True when this record was written; read it per record, not from the HTTP status."""
        if self.status is not None:
            return self.status.lower() == "success"
        return self.code == "SUCCESS"


class _WriteEnvelope(BaseModel):
    # extra="allow" keeps a request-level error's own keys, so one parse serves every shape.
    model_config = ConfigDict(extra="allow")

    data: list[WriteResult] | None = None
    watch: list[WriteResult] | None = None


def parse_write_results(body: bytes | str | Mapping[str, Any] | None) -> list[WriteResult]:
    """Every per-record result of a write response body, in input order.

    Accepts the raw body or an already decoded dict. A body without ``data``/``watch`` that is
    itself one result (a request-level ``{"code", "status": "error", ...}``) yields that one
    result; an empty body yields none.
    """
    if body is None:
        return []
    if isinstance(body, Mapping):
        envelope = _WriteEnvelope.model_validate(body)
    elif not body.strip():
        return []
    else:
        envelope = _WriteEnvelope.model_validate_json(body)
    if envelope.data is not None:
        return envelope.data
    if envelope.watch is not None:
        return envelope.watch
    rest = envelope.model_extra or {}
    if "status" in rest or "code" in rest:
        return [WriteResult.model_validate(rest)]
    return []
