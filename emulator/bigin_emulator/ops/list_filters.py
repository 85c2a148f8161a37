"""What a list call's ``cvid`` and ``pipeline_id`` keep, and the filtered view it pages through.

``cvid`` keeps the records its custom view's criteria match (an id that is not one of the
module's views is a 400 ``INVALID_DATA``); ``pipeline_id`` on ``GET /Pipelines`` and on a
record's ``Pipelines`` related list keeps the deals of that team pipeline (their ``Layout.id``;
an id no pipeline has keeps none). Page tokens are scoped to the filter, so a token of one view
is refused by another.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bigin_emulator.ops.custom_views import find_view
from bigin_emulator.ops.wire import ApiError
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.metadata import ModuleSpec
from bigin_emulator.state.sorting import SortedView
from bigin_emulator.state.store import Record

__all__ = ["RecordFilter", "filtered_view", "list_filter", "pipeline_filter"]

RecordFilter = Callable[[Record], bool]


def pipeline_filter(module: str, query: Mapping[str, str]) -> RecordFilter | None:
    """Keep a team pipeline's deals when listing deals with ``pipeline_id``; None otherwise."""
    pipeline_id = query.get("pipeline_id")
    if module != "Pipelines" or not pipeline_id:
        return None
    return lambda record: (record.get("Layout") or {}).get("id") == pipeline_id


def list_filter(
    ctx: EmulatorContext, spec: ModuleSpec, query: Mapping[str, str]
) -> tuple[str, RecordFilter | None]:
    """The page-token scope of ``GET /{Module}`` with its filters, and what the filters keep."""
    tests: list[RecordFilter] = []
    scope = spec.api_name
    cvid = query.get("cvid")
    if cvid is not None:
        view = find_view(spec.api_name, cvid)
        if view is None:
            raise ApiError(
                400, "INVALID_DATA", f"{cvid!r} is not a custom view of {spec.api_name}", {"param": "cvid"}
            )
        now = ctx.now()
        tests.append(lambda record: view.keeps(record, now))
        scope += f"?cvid={cvid}"
    by_pipeline = pipeline_filter(spec.api_name, query)
    if by_pipeline is not None:
        tests.append(by_pipeline)
        scope += f"?pipeline_id={query['pipeline_id']}"
    if not tests:
        return scope, None
    return scope, lambda record: all(test(record) for test in tests)


def filtered_view(view: SortedView, records: Mapping[str, Record], keep: RecordFilter) -> SortedView:
    """The part of ``view`` whose records ``keep`` accepts, in the same order."""
    pairs = [(key, rid) for key, rid in zip(view.keys, view.ids, strict=True) if keep(records[rid])]
    return SortedView([key for key, _ in pairs], [rid for _, rid in pairs])
