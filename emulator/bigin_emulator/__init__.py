"""An offline Bigin v2 server (Starlette ASGI app) that behaves like Zoho on the wire.

``BiginEmulator`` is the entry point. Importing this package is cheap and does not need Starlette
or uvicorn: the emulator is loaded on first use of ``BiginEmulator``, and uvicorn only when
``serve()`` runs. ``bigin_emulator.ops.criteria`` is pure Python on purpose.

"The recordings" are answers recorded from a real Bigin org, kept with their findings in the
bigin-async repository (``tests/fixtures/bigin-recorded/INDEX.md``); "recordings item 10" in a
docstring is finding 10 there.

Where Zoho's documentation and the recordings are silent, the emulator makes these choices (each
is what the SDK's tests hold it to):

- write status: 201 (insert) or 200 (update, upsert, delete) when every record succeeded, 207
  when some failed, 400 when all failed; the body always carries one entry per record;
- more than 100 records (or ids) in one call: 400 ``LIMIT_EXCEEDED``, details ``{"limit": 100}``;
  an empty ``data`` array: 400 ``INVALID_DATA``; no ``data`` key: 400 ``REQUIRED_PARAM_MISSING``;
- more than 50 ``fields``: 400 ``LIMIT_EXCEEDED``; deleting an unknown or deleted id: an
  ``INVALID_DATA`` entry with details ``{"id"}``;
- ``page`` whose first record lies past the first 2,000: 400 ``DISCRETE_PAGINATION_LIMIT_EXCEEDED``
  (a page that straddles record 2,000 is cut there); ``page`` with ``page_token``: 400
  ``INVALID_REQUEST``; an expired token: 400 ``INVALID_DATA`` with details ``reason: TOKEN_EXPIRED``;
  ``previous_page_token`` is always null;
- search: more than one of criteria/email/phone/word is 400 ``INVALID_REQUEST``, none is
  ``REQUIRED_PARAM_MISSING``; ``equals`` is exact and case-insensitive (no fuzziness, no index lag);
- a ``Bearer`` header is 400 ``INVALID_REQUEST`` (not 401, so a client does not refresh in vain);
- ``BiginEmulator(realism="zoho")`` drops these kindnesses where Zoho has them not (see ``realism``):
  429s without ``Retry-After``, fuzzy and lagging search, scope checks, an unpinned ``api_domain``;
- the refresh block (11th refresh within 10 minutes) answers HTTP 400 ``{"error": "Access Denied"}``;
- files (attachments, photos, the Files API): an upload to an unknown record is 400 ``INVALID_DATA``
  (details ``id``), a download or list of one 204; a file past ``FileLimits.max_file_bytes`` (20 MB)
  400 ``FILE_SIZE_EXCEEDED``, a form without its ``file`` part 400 ``REQUIRED_PARAM_MISSING``, the
  org's files past ``max_stored_bytes`` 400 ``LIMIT_EXCEEDED``; a link attachment's ``Size`` is
  null; deleting a record's absent photo succeeds;
- the rest of the record API: ``/{Module}/deleted`` lists the most recently deleted first (204 when
  none; an unknown ``type`` is 400 ``INVALID_DATA``); unlinking a pair that is not linked is an
  ``INVALID_DATA`` entry for that id; ``add_tags``/``remove_tags`` take 500 records (501: 400
  ``LIMIT_EXCEEDED``, details ``{"param": "ids", "limit": 500}``); a tag id in a ``/settings/tags``
  path that names no tag is 400 ``INVALID_DATA``; a merge keeps the URL's tag; ``POST /users``
  takes one user, needs ``last_name`` and ``email`` and defaults ``first_name``, ``role`` and
  ``profile``; an unknown ``cvid`` is 400 ``INVALID_DATA``, an unknown ``pipeline_id`` keeps no deals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bigin_emulator.emulator import BiginEmulator
    from bigin_emulator.realism import Realism
    from bigin_emulator.server.faults import FaultPlan, FileFaults, JobFaults, ServerLimits
    from bigin_emulator.state.files import FileLimits

__all__ = ["BiginEmulator", "FaultPlan", "FileFaults", "FileLimits", "JobFaults", "Realism", "ServerLimits"]


def __getattr__(name: str) -> Any:
    if name == "BiginEmulator":
        from bigin_emulator.emulator import BiginEmulator

        return BiginEmulator
    if name in ("FaultPlan", "FileFaults", "JobFaults", "ServerLimits"):
        from bigin_emulator.server import faults

        return getattr(faults, name)
    if name == "FileLimits":
        from bigin_emulator.state.files import FileLimits

        return FileLimits
    if name == "Realism":
        from bigin_emulator.realism import Realism

        return Realism
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
