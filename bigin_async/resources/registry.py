"""Which client class and default fields serve which module API name (read from the module table).

The module table (:mod:`bigin_async.models.modules`) names each module once; this module keeps
the names it has always offered: ``MODULE_CLIENTS`` (API name -> client class, from the
``BiginClient`` attributes), ``REFERENCE_NAMES`` (module names accepted as aliases: Companies ->
Accounts, Deals -> Pipelines) and ``default_fields_for``.
"""

from __future__ import annotations

from typing import Any

from bigin_async.client import module_client_classes
from bigin_async.models.modules import MODULE_ALIASES as REFERENCE_NAMES
from bigin_async.models.modules import default_fields_for
from bigin_async.resources.base import ModuleClient

__all__ = ["MODULE_CLIENTS", "REFERENCE_NAMES", "default_fields_for"]

MODULE_CLIENTS: dict[str, type[ModuleClient[Any]]] = module_client_classes()
