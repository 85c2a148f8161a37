"""Starlette routes, one module per Bigin resource (records, search, COQL, tags, settings, ...)."""

__all__: list[str] = []
