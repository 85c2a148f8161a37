"""Resource clients: one file per Bigin resource, all on one base class (``_base.APIResource``).

Module clients (``bigin.contacts`` ...) share ``base.ModuleClient``; the modules themselves are
listed once, in :mod:`bigin_async.models.modules`. Reach every client through a ``BiginClient``,
which owns the one transport they all share. This file makes ``bigin_async.resources`` a regular
package, so ``setuptools.find_packages`` includes it in built wheels.

``APIResource`` and ``ModuleClient`` are importable from here, for code that builds a client of its
own (a custom module's client subclasses ``ModuleClient``).
"""

from bigin_async.resources._base import APIResource
from bigin_async.resources.base import ModuleClient
from bigin_async.resources.bulk_jobs import BulkJobsClient
from bigin_async.resources.tags import TagsClient

__all__ = ["APIResource", "BulkJobsClient", "ModuleClient", "TagsClient"]
