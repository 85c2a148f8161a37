"""One record class per Bigin module (``Contact``, ``Company``, ``Deal`` ...), and which serves which.

The classes are defined in a private module that the module table
(:mod:`bigin_async.models.modules`) reads; this module offers them together with the table's
``MODULE_MODELS`` and ``model_for``, where they have always been importable.
"""

from __future__ import annotations

from bigin_async.models._records import Call, Company, Contact, Deal, Event, Note, Product, Task
from bigin_async.models.modules import MODULE_MODELS, model_for

__all__ = [
    "MODULE_MODELS",
    "Call",
    "Company",
    "Contact",
    "Deal",
    "Event",
    "Note",
    "Product",
    "Task",
    "model_for",
]
