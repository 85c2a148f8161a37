"""Bigin's record modules, in one table: adding a module is one entry here.

Each entry names the module's attribute on the client (``bigin.contacts``), its API name on the
wire (``Contacts``; Companies are ``Accounts`` and Deals are ``Pipelines`` there), its record
class, the fields a list or search reads when none are named, and the other name it is accepted
under (``Companies``, ``Deals``). The client's attributes, :func:`model_for`,
:func:`default_fields_for` and the module aliases accepted on write all read this table, and
:func:`nearest_modules` offers its names for a mistyped one ("did you mean Contacts?").
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from bigin_async.models._records import Call, Company, Contact, Deal, Event, Note, Product, Task
from bigin_async.models.record import Record

__all__ = [
    "BASE_DEFAULT_FIELDS",
    "MODULES",
    "MODULE_ALIASES",
    "MODULE_MODELS",
    "ModuleSpec",
    "api_name",
    "default_fields_for",
    "model_for",
    "module_spec",
    "nearest_modules",
    "quoted_module_name",
]

# What every module reads when none are named and the module has no entry (custom modules).
BASE_DEFAULT_FIELDS: tuple[str, ...] = ("Owner", "Created_Time", "Modified_Time")


@dataclass(frozen=True)
class ModuleSpec:
    """One Bigin module: how the client names it, how Bigin names it, what its records are."""

    name: str
    api_name: str
    model: type[Record]
    default_fields: tuple[str, ...]
    alias: str | None = None

    def __post_init__(self) -> None:
        if not set(BASE_DEFAULT_FIELDS) <= set(self.default_fields):
            raise ValueError(f"{self.api_name}: default fields must include {BASE_DEFAULT_FIELDS}")


def _fields(*names: str) -> tuple[str, ...]:
    return (*names, *BASE_DEFAULT_FIELDS)


MODULES: tuple[ModuleSpec, ...] = (
    ModuleSpec(
        "contacts",
        "Contacts",
        Contact,
        _fields(
            "First_Name",
            "Last_Name",
            "Full_Name",
            "Email",
            "Phone",
            "Mobile",
            "Title",
            "Account_Name",
            "Mailing_City",
            "Mailing_Country",
            "Description",
            "Tag",
        ),
    ),
    ModuleSpec(
        "companies",
        "Accounts",
        Company,
        _fields(
            "Account_Name",
            "Phone",
            "Website",
            "Industry",
            "Billing_City",
            "Billing_Country",
            "Description",
            "Tag",
        ),
        alias="Companies",
    ),
    ModuleSpec(
        "deals",
        "Pipelines",
        Deal,
        _fields(
            "Deal_Name",
            "Amount",
            "Stage",
            "Sub_Pipeline",
            "Layout",
            "Pipeline",
            "Closing_Date",
            "Contact_Name",
            "Account_Name",
            "Description",
            "Tag",
        ),
        alias="Deals",
    ),
    ModuleSpec(
        "tasks",
        "Tasks",
        Task,
        _fields("Subject", "Due_Date", "Status", "Priority", "What_Id", "Related_To", "Description"),
    ),
    ModuleSpec(
        "events",
        "Events",
        Event,
        _fields(
            "Event_Title",
            "Start_DateTime",
            "End_DateTime",
            "Venue",
            "Location",
            "Participants",
            "What_Id",
            "Related_To",
            "Description",
        ),
    ),
    ModuleSpec("notes", "Notes", Note, _fields("Note_Title", "Note_Content", "Parent_Id")),
    ModuleSpec(
        "products",
        "Products",
        Product,
        _fields(
            "Product_Name",
            "Product_Code",
            "Unit_Price",
            "Product_Category",
            "Product_Active",
            "Taxable",
            "Description",
        ),
    ),
    ModuleSpec(
        "calls",
        "Calls",
        Call,
        _fields("Subject", "Call_Type", "Call_Start_Time", "Call_Duration", "What_Id", "Description"),
    ),
)

_BY_API_NAME = {spec.api_name: spec for spec in MODULES}

# Module names accepted as aliases: Companies -> Accounts, Deals -> Pipelines ("/Companies" is
# INVALID_MODULE in Bigin).
MODULE_ALIASES: dict[str, str] = {spec.alias: spec.api_name for spec in MODULES if spec.alias}

MODULE_MODELS: dict[str, type[Record]] = {spec.api_name: spec.model for spec in MODULES}


def api_name(module: str) -> str:
    """Bigin's API name for a module, accepting the aliases "Companies" and "Deals"."""
    return MODULE_ALIASES.get(module, module)


def module_spec(module: str) -> ModuleSpec | None:
    """The table's entry for a module API name (or alias); None for a module it does not list."""
    return _BY_API_NAME.get(api_name(module))


def model_for(module: str) -> type[Record]:
    """The record class for a module API name; plain ``Record`` for modules without one."""
    spec = _BY_API_NAME.get(module)
    return spec.model if spec is not None else Record


def default_fields_for(module: str) -> tuple[str, ...]:
    """The fields read when none are named: the table's, or the system fields for other modules."""
    spec = module_spec(module)
    return spec.default_fields if spec is not None else BASE_DEFAULT_FIELDS


# A module API name is at most 100 characters; anything longer is no typo of one.
_MAX_NAME = 100


def _table_names() -> list[str]:
    # API names and aliases first: ``contacts`` and ``Contacts`` fold together and the API name is shown.
    names = [name for spec in MODULES for name in (spec.api_name, spec.alias) if name]
    return [*names, *(spec.name for spec in MODULES)]


def nearest_modules(name: str, among: Iterable[str] | None = None) -> list[str]:
    """The module names a person most likely meant by ``name`` (at most three, nearest first).

    Said in an error about a mistyped module (``Contcts`` → ``Contacts``), so the fix is in the
    message. ``among`` are the names to choose from; by default the table's modules by API name
    (``Accounts``), other name (``Companies``) and client name (``companies``). Compared without
    case, and a name differing only in case is offered once; ``name`` itself is never offered, and
    a name longer than any module's (a pasted paragraph) gets none.
    """
    if len(name) > _MAX_NAME:
        return []
    folded: dict[str, str] = {}
    for candidate in _table_names() if among is None else among:
        folded.setdefault(candidate.casefold(), candidate)
    wanted = name.casefold()
    close = difflib.get_close_matches(wanted, list(folded), n=6, cutoff=0.6)
    # Only names about as near as the nearest: ``Contcts`` is Contacts, not also Accounts.
    best = difflib.SequenceMatcher(None, wanted, close[0]).ratio() if close else 0.0
    found: list[str] = []
    for match in close:
        if difflib.SequenceMatcher(None, wanted, match).ratio() < best - 0.15:
            continue
        spelled = folded[match]
        if spelled not in found and spelled != name:
            found.append(spelled)
    return found[:3]


def quoted_module_name(name: str, limit: int = 60) -> str:
    """A module name as an error quotes it, cut past ``limit`` characters.

    A pasted paragraph (or a whole CSV line) given as a module is no name: quoting it whole would
    bury the error under it.
    """
    return repr(name if len(name) <= limit else name[:limit] + "...")
