"""Starlette routes, one module per Bigin resource (records, search, COQL, tags, settings, ...).

Also what every route shares about HTTP: reading a request (``http_input``), building a response
(``responses``) and the path convertors (``convertors``).
"""

__all__: list[str] = []
