"""Deterministic, realistic-looking Bigin records for seeding the emulator and for benchmarks.

No faker dependency: small built-in word lists combined by a seeded ``random.Random``. The same
seed always yields the same records (record ``i`` does not depend on how many are asked for), and
the fields Bigin treats as unique (a contact's ``Email``, a company's ``Account_Name``) are unique
by construction, not by luck. Everything is a generator, so a million-record import streams in
constant memory.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["SeedGenerator"]

FIRST_NAMES = (
    "Aisha", "Akira", "Alejandro", "Amara", "Ana", "Andrei", "Arjun", "Beatriz", "Chen", "Chloe",
    "Daniel", "Dmitri", "Elena", "Emeka", "Emma", "Fatima", "Felipe", "Grace", "Hana", "Hiroshi",
    "Ines", "Ivan", "Jamal", "Javier", "Julia", "Kwame", "Lars", "Leila", "Liam", "Lucia",
    "Mateo", "Mei", "Mohammed", "Nadia", "Noah", "Olga", "Omar", "Priya", "Rafael", "Sakura",
    "Samuel", "Sofia", "Tariq", "Thandiwe", "Tomas", "Valentina", "Wei", "Yara", "Yusuf", "Zara",
)  # fmt: skip
LAST_NAMES = (
    "Abebe", "Andersen", "Bauer", "Castillo", "Chowdhury", "Costa", "Dubois", "Eriksson", "Fernandez",
    "Garcia", "Haddad", "Ivanova", "Jensen", "Kamau", "Kim", "Kowalski", "Larsen", "Lopez", "Mbeki",
    "Moreau", "Murphy", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Patel", "Petrov", "Quinn",
    "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Suzuki", "Tanaka", "Torres", "Van Dijk",
    "Wagner", "Wang", "Weber", "Williams", "Yamamoto", "Zhang", "Zulu",
)  # fmt: skip
COMPANY_WORDS = (
    "Apex", "Blue Harbor", "Bright Path", "Cedar", "Cobalt", "Crescent", "Evergreen", "Falcon",
    "Golden Gate", "Granite", "Harbor Light", "Horizon", "Ironwood", "Juniper", "Keystone", "Lakeside",
    "Meridian", "Northwind", "Oakridge", "Orchid", "Pinnacle", "Quantum", "Redwood", "Riverbend",
    "Sapphire", "Silver Peak", "Summit", "Sunrise", "Trident", "Vertex", "Willow", "Zenith",
)  # fmt: skip
COMPANY_KINDS = (
    "Analytics", "Builders", "Consulting", "Dynamics", "Foods", "Health", "Labs", "Logistics",
    "Manufacturing", "Media", "Motors", "Partners", "Retail", "Software", "Solutions", "Systems",
    "Textiles", "Travel",
)  # fmt: skip
LEGAL_FORMS = ("Ltd", "Inc", "LLC", "GmbH", "S.A.", "Pty Ltd", "Corp", "Co")
INDUSTRIES = (
    "Technology", "Manufacturing", "Retail", "Healthcare", "Finance", "Education", "Logistics",
    "Hospitality", "Construction", "Media", "Agriculture", "Consulting",
)  # fmt: skip
CITIES = (
    ("Nairobi", "Kenya", "+254"), ("Lagos", "Nigeria", "+234"), ("Cape Town", "South Africa", "+27"),
    ("Chennai", "India", "+91"), ("Bengaluru", "India", "+91"), ("Singapore", "Singapore", "+65"),
    ("Tokyo", "Japan", "+81"), ("Sydney", "Australia", "+61"), ("Berlin", "Germany", "+49"),
    ("Paris", "France", "+33"), ("Madrid", "Spain", "+34"), ("London", "United Kingdom", "+44"),
    ("Toronto", "Canada", "+1"), ("Austin", "United States", "+1"), ("Chicago", "United States", "+1"),
    ("Sao Paulo", "Brazil", "+55"), ("Mexico City", "Mexico", "+52"),
    ("Dubai", "United Arab Emirates", "+971"),
)  # fmt: skip
TITLES = (
    "CEO", "CTO", "Founder", "Head of Sales", "Operations Manager", "Procurement Lead", "Account Manager",
    "Marketing Director", "Office Manager", "Finance Controller", "Product Owner", "Sales Representative",
)  # fmt: skip
DESCRIPTIONS = (
    "Met at the regional trade fair; asked for a follow-up call.",
    "Referred by an existing customer.",
    "Downloaded the pricing sheet twice this month.",
    "Interested in an annual plan for the whole team.",
    "Prefers email over phone.",
    "Renewal due next quarter.",
)
DEAL_KINDS = (
    "Annual licence",
    "Pilot",
    "Renewal",
    "Upgrade",
    "Onboarding package",
    "Support plan",
    "Expansion",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
_BASE_DATE = dt.date(2026, 1, 1)
_NAME_COMBINATIONS = len(COMPANY_WORDS) * len(COMPANY_KINDS) * len(LEGAL_FORMS)
# Stepping through the combinations by a stride coprime with their count visits each exactly once.
_NAME_STRIDE = 7_919
assert math.gcd(_NAME_STRIDE, _NAME_COMBINATIONS) == 1


def _phone(rng: random.Random, prefix: str) -> str:
    return f"{prefix} {rng.randint(200, 999)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


class SeedGenerator:
    """Streams of contacts, companies and deals, each a pure function of ``seed`` and the index.

    Each stream draws from its own ``random.Random`` keyed by the seed and the stream's name, so
    asking for companies does not change the contacts that follow.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def _rng(self, stream: str) -> random.Random:
        return random.Random(f"bigin-emulator:{self.seed}:{stream}")

    def contacts(
        self, n: int, *, with_accounts: Sequence[dict[str, Any]] | None = None
    ) -> Iterator[dict[str, Any]]:
        """``n`` Contacts; ``Email`` is unique per index. With ``with_accounts``, each contact is
        linked to one of them (by ``{"id"}`` when the account has an id, as Bigin expects lookups
        to be written; else by its name, which makes Bigin create the company)."""
        rng = self._rng("contacts")
        for index in range(n):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            city, country, prefix = rng.choice(CITIES)
            record: dict[str, Any] = {
                "First_Name": first,
                "Last_Name": last,
                "Email": f"{_slug(first)}.{_slug(last)}.{index}@{rng.choice(EMAIL_DOMAINS)}",
                "Phone": _phone(rng, prefix),
                "Mobile": _phone(rng, prefix),
                "Title": rng.choice(TITLES),
                "Mailing_City": city,
                "Mailing_Country": country,
                "Description": rng.choice(DESCRIPTIONS),
            }
            if with_accounts:
                account = with_accounts[rng.randrange(len(with_accounts))]
                record["Account_Name"] = {"id": account["id"]} if "id" in account else account["Account_Name"]
            yield record

    def companies(self, n: int) -> Iterator[dict[str, Any]]:
        """``n`` Accounts (Bigin's Companies); ``Account_Name`` is unique per index."""
        rng = self._rng("companies")
        for index in range(n):
            city, country, prefix = rng.choice(CITIES)
            name = self._company_name(index)
            yield {
                "Account_Name": name,
                "Phone": _phone(rng, prefix),
                "Website": f"https://www.{_slug(name)}.example.com",
                "Industry": rng.choice(INDUSTRIES),
                "Billing_City": city,
                "Billing_Country": country,
                "Description": rng.choice(DESCRIPTIONS),
            }

    def deals(
        self,
        n: int,
        *,
        stages: Sequence[str],
        pipeline_id: str | None = None,
        sub_pipeline: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``n`` records of the Pipelines module (deals).

        ``pipeline_id`` is written both as ``Layout`` (what real orgs need: the team pipeline is
        a layout) and as ``Pipeline`` (the alias many scripts send, accepted on write).
        """
        if not stages:
            raise ValueError("deals() needs at least one stage")
        rng = self._rng("deals")
        for index in range(n):
            company = self._company_name(rng.randrange(_NAME_COMBINATIONS))
            record: dict[str, Any] = {
                "Deal_Name": f"{company} - {rng.choice(DEAL_KINDS)} #{index + 1}",
                "Amount": round(rng.uniform(500, 250_000), 2),
                "Stage": rng.choice(stages),
                "Closing_Date": (_BASE_DATE + dt.timedelta(days=rng.randrange(365))).isoformat(),
                "Description": rng.choice(DESCRIPTIONS),
            }
            if pipeline_id is not None:
                record["Layout"] = {"id": pipeline_id}
                record["Pipeline"] = {"id": pipeline_id}
            if sub_pipeline is not None:
                record["Sub_Pipeline"] = sub_pipeline
            yield record

    def _company_name(self, index: int) -> str:
        """A unique name for every index: a seeded walk over all word combinations, numbered once
        the combinations run out, so neighbouring indexes do not look alike."""
        position = (index * _NAME_STRIDE + self.seed) % _NAME_COMBINATIONS
        word, rest = divmod(position, len(COMPANY_KINDS) * len(LEGAL_FORMS))
        kind, form = divmod(rest, len(LEGAL_FORMS))
        name = f"{COMPANY_WORDS[word]} {COMPANY_KINDS[kind]} {LEGAL_FORMS[form]}"
        round_number = index // _NAME_COMBINATIONS
        return name if round_number == 0 else f"{name} {round_number + 1}"
