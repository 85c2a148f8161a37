"""One record class per Bigin module, with Zoho's field names and the aliases accepted on write.

Records are often written with names live Bigin does not use (``Company_Name`` for
``Account_Name``, ``Job_Title`` for ``Title``, ``Expected_Close_Date`` for ``Closing_Date``,
``Address``/``Zip_Code`` for ``Mailing_Street``/``Mailing_Zip``). Both spellings are declared so
either reads back typed; which one a write uses is the caller's choice. Which module each class
serves is the module table's (:mod:`bigin_async.models.modules`, which reads these classes);
import them from :mod:`bigin_async.models.records`, which also offers the table's ``model_for``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field, model_validator
from typing_extensions import Self

from bigin_async.models import common
from bigin_async.models.base import Id
from bigin_async.models.record import Record

__all__ = [
    "Call",
    "Company",
    "Contact",
    "Deal",
    "Event",
    "Note",
    "Product",
    "Task",
]


class Contact(Record):
    """A Contacts record. ``Account_Name`` is a lookup here (a plain string on Accounts)."""

    First_Name: str | None = None
    Last_Name: str | None = None
    Full_Name: str | None = None
    Email: str | None = None
    Secondary_Email: str | None = None
    Phone: str | None = None
    Mobile: str | None = None
    Home_Phone: str | None = None
    Title: str | None = None
    Job_Title: str | None = None
    Department: str | None = None
    Account_Name: common.Lookup | None = None
    Company_Name: str | common.Lookup | None = None
    Mailing_Street: str | None = None
    Mailing_City: str | None = None
    Mailing_State: str | None = None
    Mailing_Zip: str | None = None
    Mailing_Country: str | None = None
    Address: str | None = None
    City: str | None = None
    State: str | None = None
    Zip_Code: str | None = None
    Country: str | None = None
    Description: str | None = None
    Email_Opt_Out: bool | None = None


class Company(Record):
    """An Accounts record (a company). ``Account_Name`` is a plain string here."""

    Account_Name: str | None = None
    Company_Name: str | None = None
    Email: str | None = None
    Phone: str | None = None
    Fax: str | None = None
    Website: str | None = None
    Industry: str | None = None
    Annual_Revenue: float | None = None
    Number_of_Employees: int | None = None
    Employees: int | None = None
    Account_Number: Id | None = None
    Account_Type: str | None = None
    Parent_Account: common.Lookup | None = None
    Billing_Street: str | None = None
    Billing_City: str | None = None
    Billing_State: str | None = None
    Billing_Code: str | None = None
    Billing_Country: str | None = None
    Address: str | None = None
    City: str | None = None
    State: str | None = None
    Zip_Code: str | None = None
    Country: str | None = None
    Description: str | None = None


class Deal(Record):
    """A Pipelines record (a deal).

    Zoho files a deal under a team pipeline (``Layout: {"id"}``) and a ``Sub_Pipeline`` name and
    closes it on ``Closing_Date``; the aliases ``Pipeline: {"id"}``, ``Expected_Close_Date`` and
    ``Company_Name`` (for ``Account_Name``) are accepted on write too.
    """

    Deal_Name: str | None = None
    Amount: float | None = None
    Stage: str | None = None
    Pipeline: common.Lookup | None = None
    Layout: common.Lookup | None = None
    Sub_Pipeline: str | None = None
    Closing_Date: date | None = None
    Expected_Close_Date: date | None = None
    Contact_Name: common.Lookup | None = None
    Account_Name: common.Lookup | None = None
    Company_Name: common.Lookup | None = None
    Probability: float | None = None
    Description: str | None = None


class _Activity(Record):
    """Tasks and events link to a record: Zoho writes ``What_Id`` + ``$se_module``, and
    ``Related_To: {module, id}`` is accepted too. Both are readable: ``Related_To`` is derived
    from Zoho's pair on read, without counting as set, so a read-modify-write sends only what
    Bigin knows."""

    Related_To: common.RelatedTo | None = None
    What_Id: common.Lookup | None = None
    se_module: str | None = Field(default=None, alias="$se_module")

    @model_validator(mode="after")
    def _derive_related_to(self) -> Self:
        if self.Related_To is None and self.What_Id is not None:
            self.Related_To = common.RelatedTo(
                id=self.What_Id.id, module=self.se_module, name=self.What_Id.name
            )
            self.__pydantic_fields_set__.discard("Related_To")
        return self


class Task(_Activity):
    """A Tasks record; ``Related_To`` is the link alias, ``What_Id`` + ``$se_module`` Zoho's."""

    Subject: str | None = None
    Due_Date: date | None = None
    Status: str | None = None
    Priority: str | None = None
    Description: str | None = None
    Reminder: Any = None


class Event(_Activity):
    """An Events record (a meeting)."""

    Event_Title: str | None = None
    Start_DateTime: datetime | None = None
    End_DateTime: datetime | None = None
    Location: str | None = None
    Venue: str | None = None
    Participants: list[common.Participant] | None = None
    Description: str | None = None
    Reminder: Any = None


class Note(Record):
    """A Notes record; ``Parent_Id`` is the record it is attached to."""

    Note_Title: str | None = None
    Note_Content: str | None = None
    Parent_Id: common.RelatedTo | common.Lookup | str | None = None
    se_module: str | None = Field(default=None, alias="$se_module")


class Product(Record):
    """A Products record. Prices and quantities are real numbers (or null), never strings."""

    Product_Name: str | None = None
    Product_Code: str | None = None
    Unit_Price: float | None = None
    Product_Category: str | None = None
    Product_Active: bool | None = None
    Taxable: bool | None = None
    Tax_Percentage: float | None = None
    Qty_in_Stock: float | None = None
    Qty_Ordered: float | None = None
    Qty_in_Demand: float | None = None
    Reorder_Level: float | None = None
    Manufacturer: str | None = None
    Description: str | None = None


class Call(_Activity):
    """A Calls record (logged phone calls)."""

    Subject: str | None = None
    Call_Type: str | None = None
    Call_Start_Time: datetime | None = None
    Call_Duration: str | None = None
    Description: str | None = None
