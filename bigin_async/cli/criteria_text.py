"""``--criteria`` text for a Bulk Read job: Bigin's search form parsed into Zoho's JSON criteria form.

``bigin export --criteria`` takes what a search takes, ``(Mailing_City:equals:Paris)`` or
``((Last_Name:starts_with:A)and(Email_Opt_Out:equals:false))``, values escaped with a backslash
before ``\\``, ``(``, ``)`` and ``,`` as the SDK's :class:`~bigin_async.Field` renders them. A Bulk
Read job takes the same conditions as JSON (``{"api_name", "comparator", "value"}``, groups as
``{"group_operator", "group": [...]}``; ``equals`` is ``equal`` there, ``in`` a list, ``between``
``[low, high]``), so the text is parsed here into the SDK's criteria: ``to_json`` writes (and
checks) the job's form, ``str()`` gives the search text back when ``auto`` reads through calls.
Values stay text: the job compares them by the field's type, as a search does.
"""

from __future__ import annotations

from typing import Literal

from bigin_async.cli.common import UsageError
from bigin_async.criteria import Condition, Criteria, Group

__all__ = ["parse_criteria"]

# Deeper than any criteria a person writes; keeps a hostile string from exhausting the stack.
_MAX_DEPTH = 32


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def fail(self, why: str) -> UsageError:
        return UsageError(f"--criteria {self.text!r}: {why} at character {self.at + 1}")

    def expect(self, char: str) -> None:
        if self.at >= len(self.text) or self.text[self.at] != char:
            raise self.fail(f"expected {char!r}")
        self.at += 1

    def sequence(self, depth: int) -> Criteria:
        """``(term)`` or ``(term)and(term)...``: one operator per sequence (Zoho nests pairs)."""
        if depth > _MAX_DEPTH:
            raise self.fail("nested too deeply")
        parts = [self.term(depth)]
        operator: Literal["and", "or"] | None = None
        while self.text.startswith(("and", "or"), self.at):
            word: Literal["and", "or"] = "and" if self.text.startswith("and", self.at) else "or"
            if operator is not None and word != operator:
                raise self.fail("mixes and/or without parentheses")
            operator = word
            self.at += len(word)
            parts.append(self.term(depth))
        result = parts[0]
        for part in parts[1:]:  # ((A)and(B))and(C): one group of three, as the SDK's & builds it
            result = Group.combine(operator or "and", result, part)
        return result

    def term(self, depth: int) -> Criteria:
        self.expect("(")
        inner = self.sequence(depth + 1) if self.text.startswith("(", self.at) else self.condition()
        self.expect(")")
        return inner

    def condition(self) -> Condition:
        field = self.name("field name")
        self.expect(":")
        operator = self.name("operator")
        self.expect(":")
        return Condition(field, operator, self.value())

    def name(self, what: str) -> str:
        start = self.at
        while self.at < len(self.text) and (self.text[self.at].isalnum() or self.text[self.at] in "_$."):
            self.at += 1
        if self.at == start:
            raise self.fail(f"expected a {what}")
        return self.text[start : self.at]

    def value(self) -> str:
        """The value as written (still escaped), up to the condition's unescaped ``)``."""
        start = self.at
        while self.at < len(self.text) and self.text[self.at] != ")":
            if self.text[self.at] == "(":
                raise self.fail("an unescaped '(' in a value (write \\()")
            self.at += 2 if self.text[self.at] == "\\" else 1
        self.at = min(self.at, len(self.text))
        if self.at == start:
            raise self.fail("an empty value (a job matches an empty field with ${EMPTY})")
        return self.text[start : self.at]


def parse_criteria(text: str) -> Criteria:
    """The search-form ``text`` as the SDK's criteria (a :class:`UsageError` says what is wrong, where)."""
    parser = _Parser(text.strip())
    if not parser.text:
        raise UsageError("--criteria is empty")
    result = parser.sequence(0)
    if parser.at != len(parser.text):
        raise parser.fail("unexpected text after the criteria")
    return result
