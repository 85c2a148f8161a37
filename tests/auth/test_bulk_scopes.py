"""The consent screen's default scopes cover Bulk Read and Bulk Write jobs and their file uploads."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from bigin_async.auth import SCOPES, Scope, authorization_url


def test_the_default_scopes_let_bulk_import_and_bulk_export_run_jobs() -> None:
    # bulk_import/bulk_export pick jobs for large runs: without these, the first large run fails
    # with OAUTH_SCOPE_MISMATCH after the records were already written to CSV parts.
    assert Scope.BULK_ALL in SCOPES
    assert Scope.FILES_ALL in SCOPES
    assert Scope.BULK_READ == "ZohoBigin.bulk.READ"
    assert Scope.BULK_CREATE == "ZohoBigin.bulk.CREATE"


def test_the_consent_url_asks_for_the_bulk_and_file_scopes() -> None:
    url = authorization_url(client_id="id", redirect_uri="https://example.com/cb")
    scopes = parse_qs(urlsplit(url).query)["scope"][0].split(",")
    assert {"ZohoBigin.bulk.ALL", "ZohoFiles.files.ALL"} <= set(scopes)
