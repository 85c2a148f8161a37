"""Integrations with frameworks; each lives in its own module and imports its framework only there.

``bigin_async.integrations.fastapi`` needs the ``fastapi`` extra (``pip install bigin-async[fastapi]``).
"""

__all__: list[str] = []  # each integration is its own module, imported by name
