"""What the emulated org's modules look like: fields, types, mandatory and unique fields, lookups.

One ``ModuleSpec`` per record module drives everything else: write validation, which requested
``fields`` exist, what a full record dump holds, ``settings/fields`` and the layouts. The field
sets follow the recordings (``settings_fields_contacts.json``, the full search records) and
Zoho's Bigin docs; ``extra_fields`` are keys a full record carries as null although they are not
"used" fields, which is why a requested ``Department`` is dropped while a search shows it
(recordings items 10 and 11).

``MODULES`` is the one table of the org's modules: API name -> ``ModuleSpec`` with its singular
and plural labels (``Company``/``Companies`` for ``Accounts``), its fields (``field_names``), the
mandatory, unique and display fields and the aliases accepted on write. The SDK's own table of
modules is checked against it, and importing this module costs no Starlette and no SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from bigin_emulator.state.ids import static_id

__all__ = [
    "ANY_MODULE",
    "LAYOUT_LOOKUP",
    "MODULES",
    "FieldSpec",
    "ModuleSpec",
    "display_value",
    "get_module",
    "json_type_of",
]

ANY_MODULE = "*"  # a multi-module lookup (What_Id on activities, Parent_Id on Notes)
LAYOUT_LOOKUP = "$layout"  # a deal's team pipeline: a layout of the Pipelines module

_JSON_TYPES: dict[str, str] = {
    "ownerlookup": "jsonobject",
    "lookup": "jsonobject",
    "boolean": "boolean",
    "integer": "integer",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "jsonarray": "jsonarray",
    "multiselectpicklist": "jsonarray",
    "tag": "jsonarray",
    "fileupload": "jsonarray",
}


def json_type_of(data_type: str) -> str:
    return _JSON_TYPES.get(data_type, "string")


@dataclass(frozen=True)
class FieldSpec:
    """One field as Zoho describes it; ``read_only`` fields are kept by the server, not written."""

    api_name: str
    data_type: str
    label: str
    length: int = 255
    mandatory: bool = False
    unique: bool = False
    lookup_module: str | None = None
    read_only: bool = False
    picklist: tuple[str, ...] = ()

    @property
    def json_type(self) -> str:
        return json_type_of(self.data_type)


@dataclass(frozen=True)
class ModuleSpec:
    """A record module of the emulated org."""

    api_name: str
    number: int
    singular: str
    plural: str
    sequence_number: int
    display_field: str
    fields: tuple[FieldSpec, ...]
    extra_fields: tuple[str, ...] = ()
    unique_fields: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
    quick_create: tuple[str, ...] = ()
    by_name: dict[str, FieldSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.api_name: f for f in self.fields})

    @property
    def module_id(self) -> str:
        return static_id(1000 + self.number)

    @property
    def layout_id(self) -> str:
        """The id of the module's "Standard" layout (Pipelines have one layout per team pipeline)."""
        return static_id(2000 + self.number)

    def field(self, api_name: str) -> FieldSpec | None:
        return self.by_name.get(api_name)

    # Derived field lists are cached: every written record reads them (a spec never changes).

    @cached_property
    def field_names(self) -> tuple[str, ...]:
        """Every field's API name, in the order ``settings/fields`` lists them."""
        return tuple(f.api_name for f in self.fields)

    @cached_property
    def mandatory_fields(self) -> tuple[str, ...]:
        return tuple(f.api_name for f in self.fields if f.mandatory)

    @property
    def quick_create_fields(self) -> tuple[str, ...]:
        """Fields on the quick-create form, in order (``quick_sequence_number`` in settings/fields)."""
        return self.quick_create or self.mandatory_fields

    @cached_property
    def lookup_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.lookup_module is not None)

    def field_id(self, api_name: str) -> str:
        return static_id(100_000 + self.number * 1000 + self.field_names.index(api_name))


def _f(api_name: str, data_type: str = "text", label: str | None = None, **kw: object) -> FieldSpec:
    return FieldSpec(api_name, data_type, label or api_name.replace("_", " "), **kw)  # type: ignore[arg-type]


def _common(with_tags: bool = True, with_activity: bool = True) -> list[FieldSpec]:
    """The system fields every record module carries."""
    fields = [
        _f("Owner", "ownerlookup", length=120),
        _f("Created_By", "ownerlookup", read_only=True, length=120),
        _f("Modified_By", "ownerlookup", read_only=True, length=120),
        _f("Created_Time", "datetime", read_only=True, length=120),
        _f("Modified_Time", "datetime", read_only=True, length=120),
    ]
    if with_activity:
        fields.append(_f("Last_Activity_Time", "datetime", read_only=True, length=120))
    if with_tags:
        fields.append(_f("Tag", "tag", length=2000))
    return fields


def _activity_links() -> list[FieldSpec]:
    return [
        _f("What_Id", "lookup", "Related To", lookup_module=ANY_MODULE),
        _f("$se_module", "text", "Related Module", read_only=True),
        _f("Contact_Name", "lookup", "Contact Name", lookup_module="Contacts"),
    ]


_TASK_STATUSES = ("Not Started", "Deferred", "In Progress", "Completed", "Waiting for input")
_PRIORITIES = ("High", "Highest", "Low", "Lowest", "Normal")

MODULES: dict[str, ModuleSpec] = {}


def _register(spec: ModuleSpec) -> None:
    MODULES[spec.api_name] = spec


_register(
    ModuleSpec(
        api_name="Contacts",
        number=1,
        singular="Contact",
        plural="Contacts",
        sequence_number=3,
        display_field="Full_Name",
        fields=(
            _f("Owner", "ownerlookup", "Contact Owner", length=120),
            _f("First_Name", length=40),
            _f("Last_Name", length=80, mandatory=True),
            _f("Account_Name", "lookup", "Company Name", lookup_module="Accounts"),
            _f("Email", "email", length=100, unique=True),
            _f("Title"),
            _f("Phone", "phone", length=50),
            _f("Home_Phone", "phone", length=30),
            _f("Mobile", "phone", length=30),
            _f("Secondary_Email", "email", length=100),
            *_common()[1:],
            _f("Full_Name", read_only=True, length=120),
            _f("Mailing_Street", length=250),
            _f("Mailing_City", length=100),
            _f("Mailing_State", length=100),
            _f("Mailing_Zip", length=30),
            _f("Mailing_Country", length=100),
            _f("Description", "textarea", length=32000),
            _f("Email_Opt_Out", "boolean", length=5),
            _f("Record_Image", "profileimage", "Contact Image"),
            # A file-upload field: Files API ids on write, the files' entries on read.
            _f("Contract_File", "fileupload", "Contract File", length=5),
            _f(
                "Unsubscribed_Mode",
                "picklist",
                read_only=True,
                picklist=("Consent form", "Manual", "Unsubscribe link", "Zoho campaigns"),
            ),
            _f("Unsubscribed_Time", "datetime", read_only=True),
            _f(
                "Record_Creation_Source_ID__s",
                "bigint",
                "Record Creation Source ID",
                read_only=True,
                length=19,
            ),
        ),
        extra_fields=(
            "Department",
            "Other_Phone",
            "Other_Street",
            "Other_City",
            "Other_State",
            "Other_Zip",
            "Other_Country",
            "Assistant",
            "Asst_Phone",
            "Reporting_To",
            "Twitter",
            "Skype_ID",
            "Salutation",
            "Date_of_Birth",
            "Lead_Source",
            "Fax",
            "Locked__s",
        ),
        unique_fields=("Email",),
        aliases={"Company_Name": "Account_Name"},
        quick_create=("First_Name", "Last_Name", "Account_Name", "Email", "Phone"),
    )
)

_register(
    ModuleSpec(
        api_name="Accounts",
        number=2,
        singular="Company",
        plural="Companies",
        sequence_number=4,
        display_field="Account_Name",
        fields=(
            _f("Owner", "ownerlookup", "Company Owner", length=120),
            _f("Account_Name", label="Company Name", length=200, mandatory=True, unique=True),
            _f("Phone", "phone", length=30),
            _f("Website", "website"),
            _f("Description", "textarea", length=32000),
            _f("Billing_Street", length=250),
            _f("Billing_City", length=30),
            _f("Billing_State", length=30),
            _f("Billing_Code", length=30),
            _f("Billing_Country", length=30),
            _f("Record_Image", "profileimage", "Company Image"),
            _f("Account_Number", "bigint", read_only=True, length=19),
            *_common()[1:],
        ),
        extra_fields=(
            "Account_Type",
            "SIC_Code",
            "Industry",
            "Account_Site",
            "Shipping_City",
            "Shipping_Country",
            "Shipping_Code",
            "Shipping_Street",
            "Shipping_State",
            "Annual_Revenue",
            "Ownership",
            "Rating",
            "Employees",
            "Ticker_Symbol",
            "Parent_Account",
            "Fax",
            "Locked__s",
        ),
        unique_fields=("Account_Name",),
    )
)

_register(
    ModuleSpec(
        api_name="Pipelines",
        number=3,
        singular="Pipeline",
        plural="Pipelines",
        sequence_number=5,
        display_field="Deal_Name",
        fields=(
            _f("Owner", "ownerlookup", "Pipeline Owner", length=120),
            _f("Deal_Name", label="Pipeline Name", length=120, mandatory=True),
            _f("Amount", "currency", length=16),
            _f("Stage", "picklist", length=120, mandatory=True),
            _f("Sub_Pipeline", "picklist", length=120),
            _f("Layout", "lookup", "Team Pipeline", lookup_module=LAYOUT_LOOKUP),
            _f("Closing_Date", "date", "Closing Date"),
            _f("Account_Name", "lookup", "Company Name", lookup_module="Accounts"),
            _f("Contact_Name", "lookup", "Contact Name", lookup_module="Contacts"),
            _f("Probability", "integer", length=3),
            _f("Description", "textarea", length=32000),
            *_common()[1:],
        ),
        extra_fields=("Lead_Source", "Next_Step", "Type", "Secondary_Contacts", "Locked__s"),
        aliases={
            "Company_Name": "Account_Name",
            "Pipeline": "Layout",
            "Expected_Close_Date": "Closing_Date",
        },
    )
)

_register(
    ModuleSpec(
        api_name="Tasks",
        number=4,
        singular="Task",
        plural="Tasks",
        sequence_number=6,
        display_field="Subject",
        fields=(
            _f("Owner", "ownerlookup", "Task Owner", length=120),
            _f("Subject", mandatory=True),
            _f("Due_Date", "date"),
            _f("Status", "picklist", picklist=_TASK_STATUSES),
            _f("Priority", "picklist", picklist=_PRIORITIES),
            *_activity_links(),
            _f("Description", "textarea", length=32000),
            _f("Remind_At", "jsonobject", "Reminder"),
            _f("Closed_Time", "datetime", read_only=True),
            *_common()[1:],
        ),
        extra_fields=("Recurring_Activity", "Locked__s"),
        aliases={"Related_To": "What_Id"},
    )
)

_register(
    ModuleSpec(
        api_name="Events",
        number=5,
        singular="Event",
        plural="Events",
        sequence_number=6,
        display_field="Event_Title",
        fields=(
            _f("Owner", "ownerlookup", "Host", length=120),
            _f("Event_Title", mandatory=True),
            _f("Start_DateTime", "datetime", "From", mandatory=True),
            _f("End_DateTime", "datetime", "To", mandatory=True),
            _f("All_day", "boolean"),
            _f("Venue"),
            _f("Participants", "jsonarray"),
            *_activity_links(),
            _f("Description", "textarea", length=32000),
            _f("Remind_At", "jsonobject", "Reminder"),
            *_common()[1:],
        ),
        extra_fields=("Recurring_Activity", "Check_In_Status", "Locked__s"),
        aliases={"Related_To": "What_Id"},
    )
)

_register(
    ModuleSpec(
        api_name="Calls",
        number=6,
        singular="Call",
        plural="Calls",
        sequence_number=6,
        display_field="Subject",
        fields=(
            _f("Owner", "ownerlookup", "Call Owner", length=120),
            _f("Subject", mandatory=True),
            _f("Call_Type", "picklist", picklist=("Inbound", "Outbound", "Missed")),
            _f("Call_Start_Time", "datetime"),
            _f("Call_Duration"),
            _f("Call_Purpose", "picklist"),
            _f("Call_Result", "picklist"),
            *_activity_links(),
            _f("Description", "textarea", length=32000),
            *_common()[1:],
        ),
        extra_fields=("Call_Agenda", "Reminder", "Locked__s"),
        aliases={"Related_To": "What_Id"},
    )
)

_register(
    ModuleSpec(
        api_name="Products",
        number=7,
        singular="Product",
        plural="Products",
        sequence_number=9,
        display_field="Product_Name",
        fields=(
            _f("Owner", "ownerlookup", "Product Owner", length=120),
            _f("Product_Name", length=200, mandatory=True, unique=True),
            _f("Product_Code", length=40),
            _f("Product_Active", "boolean"),
            _f("Product_Category", "picklist"),
            _f("Unit_Price", "currency", length=16),
            _f("Description", "textarea", length=32000),
            _f("Taxable", "boolean"),
            _f("Tax", "multiselectpicklist"),
            _f("Qty_in_Stock", "double"),
            _f("Qty_in_Demand", "double"),
            _f("Qty_Ordered", "double"),
            _f("Reorder_Level", "double"),
            _f("Record_Image", "profileimage", "Product Image"),
            *_common()[1:],
        ),
        extra_fields=(
            "Sales_Start_Date",
            "Manufacturer",
            "Support_Expiry_Date",
            "Commission_Rate",
            "Handler",
            "Support_Start_Date",
            "Usage_Unit",
            "Sales_End_Date",
            "Locked__s",
        ),
        unique_fields=("Product_Name",),
    )
)

_register(
    ModuleSpec(
        api_name="Notes",
        number=8,
        singular="Note",
        plural="Notes",
        sequence_number=29,
        display_field="Note_Title",
        fields=(
            _f("Owner", "ownerlookup", "Note Owner", length=120),
            _f("Note_Title", length=120),
            _f("Note_Content", "textarea", length=32000, mandatory=True),
            _f("Parent_Id", "lookup", "Parent ID", lookup_module=ANY_MODULE),
            _f("$se_module", "text", "Parent Module", read_only=True),
            *_common(with_tags=False, with_activity=False)[1:],
        ),
    )
)


def get_module(api_name: str) -> ModuleSpec | None:
    """The spec for an API module name; names are case-sensitive, as on Zoho."""
    return MODULES.get(api_name)


def display_value(spec: ModuleSpec, record: dict[str, object]) -> str | None:
    """The name a lookup to ``record`` shows (Zoho's ``{"name", "id"}``)."""
    value = record.get(spec.display_field)
    return value if isinstance(value, str) else None
