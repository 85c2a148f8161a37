"""The package's public face: what ``bigin_async`` exports resolves, and every module says what it exports.

A name in ``__all__`` that does not resolve breaks ``from bigin_async import *`` and the docs; a
public module without ``__all__`` exports whatever it happens to import. A module's ``__all__``
lists what it defines, or what it re-exports on purpose from this package (an old import path
kept working, a subpackage's face): never a name borrowed from httpx, typing or the standard library.
"""

from __future__ import annotations

import importlib
import pkgutil
import types
import typing

import pytest

import bigin_async


def _modules() -> list[str]:
    names = [bigin_async.__name__]
    for info in pkgutil.walk_packages(bigin_async.__path__, prefix=bigin_async.__name__ + "."):
        if info.name.rsplit(".", 1)[-1] == "__main__":  # runs the command on import
            continue
        names.append(info.name)
    return sorted(names)


MODULES = _modules()
PUBLIC_MODULES = [name for name in MODULES if not any(part.startswith("_") for part in name.split("."))]


def test_every_name_the_package_exports_resolves() -> None:
    assert len(bigin_async.__all__) == len(set(bigin_async.__all__)), "a name is listed twice"
    missing = [name for name in bigin_async.__all__ if not hasattr(bigin_async, name)]
    assert missing == []


async def test_the_objects_public_properties_return_are_exported() -> None:
    async with bigin_async.BiginClient(access_token="x") as client:
        assert isinstance(client.transport, bigin_async.Transport)
        assert isinstance(client.config, bigin_async.Settings)
    assert {"Transport", "Settings"} <= set(bigin_async.__all__)


def test_every_error_class_is_exported_from_errors_and_the_package() -> None:
    from bigin_async import errors

    classes = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type)
        and issubclass(value, BaseException)
        and value.__module__ == errors.__name__
    }
    assert classes <= set(errors.__all__)
    assert classes <= set(bigin_async.__all__)
    assert all(getattr(bigin_async, name) is getattr(errors, name) for name in classes)


def test_old_import_paths_of_moved_errors_still_work() -> None:
    from bigin_async import errors
    from bigin_async.auth import RefreshBlockedError
    from bigin_async.books import BooksNotFoundError
    from bigin_async.books.errors import BooksError
    from bigin_async.bulk import BulkAbortedError, BulkWriteError
    from bigin_async.bulk.answers import UnreadableAnswerError
    from bigin_async.bulk.results import BulkAbortedError as ResultsBulkAbortedError
    from bigin_async.cli.common import UsageError
    from bigin_async.criteria import InvalidCriteriaError
    from bigin_async.resources.files import AmbiguousUploadError

    assert RefreshBlockedError is errors.RefreshBlockedError
    assert BooksNotFoundError is errors.BooksNotFoundError
    assert BooksError is errors.BooksError
    assert BulkAbortedError is ResultsBulkAbortedError is errors.BulkAbortedError
    assert BulkWriteError is errors.BulkWriteError
    assert UnreadableAnswerError is errors.UnreadableAnswerError
    assert UsageError is errors.UsageError
    assert InvalidCriteriaError is errors.InvalidCriteriaError
    assert AmbiguousUploadError is errors.AmbiguousUploadError
    assert AmbiguousUploadError.__module__ == errors.__name__


@pytest.mark.parametrize("name", MODULES)
def test_every_module_has_all(name: str) -> None:
    module = importlib.import_module(name)
    assert isinstance(getattr(module, "__all__", None), list), f"{name} has no __all__"


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_a_public_module_exports_only_what_it_defines_or_re_exports_from_the_package(name: str) -> None:
    module = importlib.import_module(name)
    exported: list[str] = getattr(module, "__all__", [])
    assert len(exported) == len(set(exported)), f"{name}: a name is listed twice"
    foreign = []
    for export in exported:
        assert hasattr(module, export), f"{name}.__all__ names {export!r}, which is not there"
        value = getattr(module, export)
        if typing.get_origin(value) is not None:
            continue  # a type alias such as Callable[..., X]: on Python 3.10 it passes for a class
        if isinstance(value, types.ModuleType):
            home = value.__name__
        elif isinstance(value, (type, types.FunctionType)):
            home = value.__module__
        else:
            continue  # a constant, an alias or an instance: defined by the assignment here
        if home != bigin_async.__name__ and not home.startswith(bigin_async.__name__ + "."):
            foreign.append(f"{export} (from {home})")
    assert foreign == [], f"{name} exports names it neither defines nor takes from bigin_async"


def test_the_one_resource_base_is_importable_from_resources() -> None:
    """Code that builds a client of its own starts from ``bigin_async.resources``."""
    from bigin_async import resources
    from bigin_async.resources import _base, base, channels, contacts, pipelines

    assert resources.APIResource is _base.APIResource and resources.ModuleClient is base.ModuleClient
    for client in (contacts.ContactsClient, pipelines.PipelinesClient, channels.NotificationsClient):
        assert issubclass(client, resources.APIResource), client
