"""An offline evaluator of AWS identity-based policies (pure: no Pulumi, no I/O).

``evaluate(policies, action, resource, context)`` decides one request the way AWS's policy
evaluation logic does for identity-based policies: an explicit Deny wins, then any Allow, else an
implicit deny. ``PolicySet`` compiles the documents once for many requests: patterns become
regular expressions, and the statements that can apply to an action are looked up once per action.

Supported: ``Action``/``NotAction`` (case-insensitive, ``*``/``?``), ``Resource``/``NotResource``
(case-sensitive ARN patterns, below), policy variables (``${aws:username}``, any context key,
``${key, 'default'}``, ``${*}``/``${?}``/``${$}``; below), and the condition operators
``String*``, ``Numeric*``, ``Date*``, ``Bool``, ``BinaryEquals``, ``IpAddress``/``NotIpAddress``,
``Arn*`` and ``Null``, with ``...IfExists`` and ``ForAnyValue:``/``ForAllValues:``. An operator
it does not know raises ``PolicyFormatError``: it never matches silently. A substituted variable's
value is matched literally, in ``Resource`` and in pattern operators (``StringLike``, ``Arn*``) alike.

**ARN patterns.** An ARN has six colon-delimited components: ``arn``, partition, service, region,
account and the resource (which may hold colons of its own). IAM User Guide, "IAM JSON policy
elements: Resource": "You can use wildcard characters (* and ?) within the individual segments of
an ARN (the parts separated by colons)" and "If the * wildcard is the last character of a resource
ARN segment, it can expand to match beyond the colon boundaries." So in ``Resource`` and
``NotResource``, within the first five components:

- a ``*`` that ends its component (followed by ``:`` or by the end of the pattern) matches any
  text, colons included: ``arn:aws:iam::*`` matches ``arn:aws:iam::111122223333:user/alice``,
  ``arn:*`` matches every ARN, ``arn:aws:s3:*`` every S3 ARN;
- any other ``*`` (``arn:aws:s3:us-*-1:...``) matches within its component only, and ``?`` is
  one character other than a colon ("within the individual segments").

In the resource component ``*`` and ``?`` match any characters, colons included (the component is
one of the six; ``arn:aws:logs:*:*:log-group:*`` covers ``log-group:a:log-stream:b``). A pattern
that is not an ARN (``*``) is a plain glob.

The ARN condition operators follow their own rule (IAM User Guide, "IAM JSON policy elements:
Condition operators"): "Each of the six colon-delimited components of the ARN is checked
separately and each can include multi-character match wildcards (*) or single-character match
wildcards (?)", and AWS's example there fails ``arn:aws:someservice:*:111122223333:finance/*``
against a value whose region part would have to swallow colons. So for ``ArnLike``,
``ArnEquals`` and their negations no wildcard crosses a component, and a request value that is not
a six-component ARN does not match. A policy value with fewer than six components that ends with
``*`` (``arn:aws:iam::*``, or ``*`` alone) raises ``PolicyFormatError``: AWS does not say whether
that ``*`` covers the missing components, and either answer could make a Deny apply where AWS
would not (``ArnLike`` in a Deny if it does, ``ArnNotLike`` in a Deny if it does not), so the
evaluator refuses to guess. One with fewer components and no trailing ``*`` matches no ARN.

Where the documentation is silent the evaluator decides, and each decision pushes a verdict one
way (the audit reads an Allow as exposure and a Deny as protection):

- the resource component is one of the six, so its wildcards match colons, as the ARN operators'
  "six components" imply. This widens a pattern: an Allow or a ``NotResource`` carve-out covers
  more (towards exposure), and so does a Deny's ``Resource`` (towards protection, for resources
  whose names hold colons: S3 keys, log streams, Lambda aliases);
- a ``*`` written in the service component is a wildcard: AWS says "You can't use a wildcard in
  the service segment", not what it then does. Wider, with the same pushes;
- an ARN condition value with fewer than six components ending in ``*`` is refused (above).

**Policy variables** exist only in documents with ``"Version": "2012-10-17"`` (IAM User Guide,
"IAM JSON policy elements: Version": with ``2008-10-17`` or no Version, "variables such as
${aws:username} aren't recognized as variables and are instead treated as literal strings in the
policy"; ``uses_policy_variables``). There they are substituted in ``Resource``/``NotResource``
and in the values of the string, ARN and ``Bool`` operators; "You can not use a policy variable
with the Numeric [Date, Binary, IpAddress, Null] condition operator", so there ``${...}`` is
literal text. (For ``Bool`` the operators page says variables work and "Variables and tags" says
they do not; the evaluator follows the operators page.) A ``Version`` other than those two raises
``PolicyFormatError``.

**Numbers and dates.** Numeric operators compare "a key to an integer or decimal value": an
optional ``-``, digits, and an optional ``.`` with digits (``3600``, ``-1.5``), compared exactly.
Date operators take "one of the W3C implementations of the ISO 8601 date formats or ... epoch
(UNIX) time": ``YYYY-MM``, ``YYYY-MM-DD``, ``YYYY-MM-DDThh:mmTZD``, ``YYYY-MM-DDThh:mm:ssTZD`` and
``YYYY-MM-DDThh:mm:ss.sTZD`` (TZD ``Z`` or ``+hh:mm``/``-hh:mm``), or a whole number of seconds
since 1970 up to 9999-12-31T23:59:59Z. Anything else (``3_600``, `` 100 ``, ``1e3``, ``+5``,
``.5``, ``inf``, ``nan``, ``2026-01-01T00:00:00`` without a zone, ``99999999999999999``) is not a
value of the type. In a policy it raises ``PolicyFormatError`` when the documents are compiled: the
audit then reports the policy as one it cannot evaluate, leaning against the user whichever way
AWS would read it. In a request it does not match, so a negated operator (``NumericNotEquals``,
``DateNotEquals``) matches, as for an absent key: a Deny with one then applies (towards
protection), which no verdict meets today, since the contexts the audit and ``verify`` build hold
well-formed numbers only. All digits is epoch seconds, so W3C's year-only
form (``2026``) reads as a second in 1970. No verdict rests on that reading: no request context of
the audit or of ``verify`` holds a date key, and both resolve a condition on a key they do not
model against the user before evaluating.

AWS's exceptions: ``sts:GetSessionToken`` and ``sts:GetCallerIdentity`` are allowed whatever the
policies say (``DECIDED_OUTSIDE_POLICIES``, ``decided_outside_policies``).
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import ipaddress
import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any


class Decision(enum.StrEnum):
    """The outcome of one request."""

    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


class PolicyFormatError(ValueError):
    """A document that is not an IAM policy, or uses something the evaluator does not know."""


# Actions AWS decides without the caller's policies: always allowed, whatever the policies say.
# Keys are lower case; values say why, citing AWS's documentation.
DECIDED_OUTSIDE_POLICIES: dict[str, str] = {
    "sts:getsessiontoken": (
        "AWS decides sts:GetSessionToken outside policies: no permission is needed and policies cannot "
        "control it (IAM User Guide, 'Permissions for GetSessionToken')"
    ),
    "sts:getcalleridentity": (
        "AWS decides sts:GetCallerIdentity outside policies: no permission is needed and an explicit "
        "Deny does not stop it (STS API Reference, 'GetCallerIdentity')"
    ),
}
_SERVICES_WITH_EXCEPTIONS = frozenset(action.split(":", 1)[0] for action in DECIDED_OUTSIDE_POLICIES)


def decided_outside_policies(action: str) -> str | None:
    """Why AWS allows ``action`` whatever the policies say, or None for an action policies decide.

    ``evaluate`` answers ``Decision.ALLOW`` for such an action; this says it was not a policy.
    """
    return DECIDED_OUTSIDE_POLICIES.get(action.lower())


# The policy language versions IAM accepts; policy variables exist only in the first
# (IAM User Guide, "IAM JSON policy elements: Version"). No Version reads as 2008-10-17.
POLICY_VARIABLES_VERSION = "2012-10-17"
POLICY_LANGUAGE_VERSIONS = (POLICY_VARIABLES_VERSION, "2008-10-17")


def uses_policy_variables(document: Any) -> bool:
    """Whether ``${...}`` in ``document`` are policy variables: only under ``"Version": "2012-10-17"``.

    With ``2008-10-17`` or no Version, AWS reads ``${aws:username}`` as literal text. Code that
    decides from the presence of variables (a Deny that depends on a key, a per-user outcome)
    asks this first: literal text depends on no key.
    """
    return isinstance(document, Mapping) and document.get("Version") == POLICY_VARIABLES_VERSION


# A request's context: condition key (lower case) -> its values. AWS's condition keys are
# case-insensitive; a single-valued key has one value.
Context = Mapping[str, Any]

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_LITERAL_VARIABLES = {"*": "*", "?": "?", "$": "$"}


def normalize_context(context: Context) -> dict[str, tuple[str, ...]]:
    """Lower-case the keys and turn every value into a tuple of strings (booleans as true/false)."""
    normalized: dict[str, tuple[str, ...]] = {}
    for key, value in context.items():
        values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
        normalized[key.lower()] = tuple(_as_string(item) for item in values)
    return normalized


def _as_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def substitute(text: str, context: Mapping[str, tuple[str, ...]], *, escape: Callable[[str], str]) -> str | None:
    """Replace policy variables in ``text``; None when a variable's key is absent (no default).

    ``escape`` is applied to substituted values so that a value is matched literally.
    """
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        body = match.group(1)
        if body in _LITERAL_VARIABLES:
            return escape(_LITERAL_VARIABLES[body])
        key, _, default = body.partition(",")
        values = context.get(key.strip().lower())
        if values and len(values) == 1:
            return escape(values[0])
        default = default.strip()
        if default.startswith("'") and default.endswith("'") and len(default) >= 2:
            return escape(default[1:-1])
        missing = True
        return ""

    result = _VARIABLE.sub(replace, text)
    return None if missing else result


def policy_variables(text: str) -> list[str]:
    """The condition keys the policy variables in ``text`` read (``${aws:username}`` ->
    ``aws:username``; a default after the comma is dropped, ``${*}``/``${?}``/``${$}`` are none)."""
    keys = []
    for body in _VARIABLE.findall(text):
        if body not in _LITERAL_VARIABLES:
            keys.append(body.partition(",")[0].strip())
    return keys


def _glob_regex(pattern: str, *, wildcard_chars: str = ".", last_star: str | None = None) -> str:
    """The regular-expression body of an IAM glob: ``*`` any run, ``?`` one character (of
    ``wildcard_chars``); a ``*`` that ends the pattern becomes ``last_star`` when given."""
    parts = []
    for position, char in enumerate(pattern):
        if char == "*":
            ends = position == len(pattern) - 1
            parts.append(last_star if last_star is not None and ends else f"{wildcard_chars}*")
        elif char == "?":
            parts.append(wildcard_chars)
        else:
            parts.append(re.escape(char))
    return "".join(parts)


def _component_regex(component: str) -> str:
    """One of an ARN pattern's first five components, for ``Resource``: wildcards stay within the
    component, except a ``*`` that ends it, which may match beyond the colon (module docstring)."""
    return _glob_regex(component, wildcard_chars="[^:]", last_star=".*")


def _resource_regex(pattern: str) -> str:
    """The regular-expression body of a ``Resource``/``NotResource`` pattern."""
    if not pattern.startswith("arn:"):
        return _glob_regex(pattern)  # "*", or text that is not an ARN
    components = pattern.split(":", 5)
    head = ":".join(_component_regex(component) for component in components[:5])
    if len(components) < 6:
        return head  # matches a full ARN only through a * that ends the pattern
    return head + ":" + _glob_regex(components[5])


# A substituted value is literal text: its own * and ? must not act as wildcards. They travel as
# these markers until the regular expression is built. (Its colons do separate ARN components:
# "ArnEquals": {"aws:SourceArn": "${aws:PrincipalArn}"} compares two whole ARNs.)
_LITERAL_MARKERS = {"*": "\x00STAR\x00", "?": "\x00QMARK\x00"}


def _escape_glob(value: str) -> str:
    for char, marker in _LITERAL_MARKERS.items():
        value = value.replace(char, marker)
    return value


def _unescape_regex(regex: str) -> str:
    for char, marker in _LITERAL_MARKERS.items():
        regex = regex.replace(re.escape(marker), re.escape(char))
    return regex


def _as_list(value: Any, element: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise PolicyFormatError(f"{element} must be a string or a list of strings, got {value!r}")


# ---------------------------------------------------------------------------------------------
# Condition operators: each compares one context value with one policy value.


# "an integer or decimal value" (ASCII digits only: Python's \d and float() take far more).
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
# Epoch seconds, and the W3C profile of ISO 8601 (https://www.w3.org/TR/NOTE-datetime) that IAM
# names, from year-month down to fractions of a second; a time always carries its zone.
_EPOCH_SECONDS = re.compile(r"[0-9]+")
_W3C_DATETIME = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})"
    r"(?:-(?P<day>[0-9]{2})"
    r"(?:T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?)?"
    r"(?P<zone>Z|[+-](?P<zone_hours>[0-9]{2}):(?P<zone_minutes>[0-9]{2})))?)?"
)
_UNIX_EPOCH = datetime(1970, 1, 1)
_LAST_SECOND = (datetime(9999, 12, 31, 23, 59, 59) - _UNIX_EPOCH) // timedelta(seconds=1)


@functools.lru_cache(maxsize=4096)
def _number(text: str) -> Decimal | None:
    """A Numeric condition value, exactly; None when ``text`` is not one."""
    return Decimal(text) if _NUMBER.fullmatch(text) else None


@functools.lru_cache(maxsize=4096)
def _date(text: str) -> Decimal | None:
    """A Date condition value as seconds since 1970-01-01T00:00:00Z; None when ``text`` is not one."""
    if _EPOCH_SECONDS.fullmatch(text):
        seconds = Decimal(text)  # not int(): it refuses more than 4,300 digits
        return seconds if seconds <= _LAST_SECOND else None
    found = _W3C_DATETIME.fullmatch(text)
    if found is None:
        return None
    try:
        moment = datetime(
            int(found["year"]),
            int(found["month"]),
            int(found["day"] or 1),
            int(found["hour"] or 0),
            int(found["minute"] or 0),
            int(found["second"] or 0),
        )
    except ValueError:
        return None  # month 13, February 30, hour 24, ...
    offset = 0
    if found["zone_hours"] is not None:
        hours, minutes = int(found["zone_hours"]), int(found["zone_minutes"])
        if hours > 23 or minutes > 59:
            return None
        offset = (hours * 60 + minutes) * 60 * (-1 if found["zone"].startswith("-") else 1)
    seconds = Decimal((moment - _UNIX_EPOCH) // timedelta(seconds=1) - offset)
    return seconds + Decimal(f"0.{found['fraction']}") if found["fraction"] else seconds


def _compare(parse: Callable[[str], Any], test: Callable[[Any, Any], bool]) -> Callable[[str, str], bool]:
    def compare(actual: str, expected: str) -> bool:
        left, right = parse(actual), parse(expected)
        return left is not None and right is not None and test(left, right)

    return compare


def _string_like(actual: str, expected: str) -> bool:
    return re.fullmatch(_unescape_regex(_glob_regex(expected)), actual, re.DOTALL) is not None


@functools.lru_cache(maxsize=4096)
def _arn_components(expected: str) -> tuple[re.Pattern[str], ...] | None:
    """An ARN condition value's six components, each compiled on its own; None with fewer."""
    components = expected.split(":", 5)
    if len(components) < 6:
        return None
    return tuple(re.compile(_unescape_regex(_glob_regex(component)), re.DOTALL) for component in components)


def _arn_like(actual: str, expected: str) -> bool:
    # "Each of the six colon-delimited components of the ARN is checked separately": no wildcard
    # crosses into the next component, and a value that is not a six-component ARN matches nothing.
    patterns = _arn_components(expected)
    components = actual.split(":", 5)
    if patterns is None or len(components) < 6:
        return False
    return all(pattern.fullmatch(component) for pattern, component in zip(patterns, components, strict=True))


def _ambiguous_arn_pattern(value: str) -> bool:
    """An ARN condition value with fewer than six components whose trailing ``*`` might or might
    not cover the missing ones: AWS does not say (module docstring)."""
    return len(value.split(":", 5)) < 6 and value.endswith("*") and not value.endswith("${*}")


def _bool(actual: str, expected: str) -> bool:
    return actual.lower() == expected.lower()


def _binary(actual: str, expected: str) -> bool:
    try:
        return base64.b64decode(actual, validate=True) == base64.b64decode(expected, validate=True)
    except (binascii.Error, ValueError):
        return False


def _ip(actual: str, expected: str) -> bool:
    try:
        return ipaddress.ip_address(actual) in ipaddress.ip_network(expected, strict=False)
    except ValueError:
        return False


# Operator name -> (comparison, negated). A negated operator matches when no value compares.
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda a, e: a == e, False),
    "StringNotEquals": (lambda a, e: a == e, True),
    "StringEqualsIgnoreCase": (lambda a, e: a.lower() == e.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda a, e: a.lower() == e.lower(), True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "NumericEquals": (_compare(_number, lambda a, e: a == e), False),
    "NumericNotEquals": (_compare(_number, lambda a, e: a == e), True),
    "NumericLessThan": (_compare(_number, lambda a, e: a < e), False),
    "NumericLessThanEquals": (_compare(_number, lambda a, e: a <= e), False),
    "NumericGreaterThan": (_compare(_number, lambda a, e: a > e), False),
    "NumericGreaterThanEquals": (_compare(_number, lambda a, e: a >= e), False),
    "DateEquals": (_compare(_date, lambda a, e: a == e), False),
    "DateNotEquals": (_compare(_date, lambda a, e: a == e), True),
    "DateLessThan": (_compare(_date, lambda a, e: a < e), False),
    "DateLessThanEquals": (_compare(_date, lambda a, e: a <= e), False),
    "DateGreaterThan": (_compare(_date, lambda a, e: a > e), False),
    "DateGreaterThanEquals": (_compare(_date, lambda a, e: a >= e), False),
    "Bool": (_bool, False),
    "BinaryEquals": (_binary, False),
    "IpAddress": (_ip, False),
    "NotIpAddress": (_ip, True),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
}
# Operators whose policy values are patterns: a substituted variable's value must stay literal.
_PATTERN_OPERATORS = frozenset({"StringLike", "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"})
# Operators whose policy values may hold policy variables (IAM User Guide, "IAM JSON policy
# elements: Condition operators": string, Boolean and ARN operators; not Numeric, Date, Binary,
# IP address or Null, where ${...} is literal text).
_VARIABLE_OPERATORS = frozenset(name for name in _OPERATORS if name.startswith(("String", "Arn"))) | {"Bool"}
# Operators whose policy values must parse, checked when the documents are compiled.
_VALUE_FORMATS: dict[str, tuple[Callable[[str], Any], str]] = {
    **{
        name: (_number, "an integer or decimal number such as 3600 or -1.5")
        for name in _OPERATORS
        if name.startswith("Numeric")
    },
    **{
        name: (_date, "a W3C ISO 8601 date (2026-01-01, 2026-01-01T00:00:00Z) or whole epoch seconds")
        for name in _OPERATORS
        if name.startswith("Date")
    },
}


class _Condition:
    """One operator on one key with its values, compiled."""

    __slots__ = (
        "compare",
        "escape",
        "if_exists",
        "key",
        "negated",
        "null_check",
        "set_operator",
        "substitutes",
        "values",
    )

    def __init__(self, operator: str, key: str, values: Any, *, variables: bool = True) -> None:
        set_operator, _, name = operator.rpartition(":")
        if set_operator not in ("", "ForAnyValue", "ForAllValues"):
            raise PolicyFormatError(f"unknown condition set operator {set_operator!r} in {operator!r}")
        self.set_operator = set_operator
        self.if_exists = name.endswith("IfExists") and name != "IfExists"
        if self.if_exists:
            name = name[: -len("IfExists")]
        self.key = key.lower()
        self.values = [_as_string(value) for value in (values if isinstance(values, list) else [values])]
        self.null_check = name == "Null"
        self.compare: Callable[[str, str], bool]
        if self.null_check:
            self.compare, self.negated = _bool, False
        elif name in _OPERATORS:
            self.compare, self.negated = _OPERATORS[name]
        else:
            raise PolicyFormatError(f"unknown condition operator {operator!r}")
        self.escape: Callable[[str], str] = _escape_glob if name in _PATTERN_OPERATORS else _literal
        # ${...} is a policy variable only under Version 2012-10-17, and only for some operators.
        self.substitutes = variables and name in _VARIABLE_OPERATORS
        self._check_values(operator, key, name)

    def _check_values(self, operator: str, key: str, name: str) -> None:
        """Refuse policy values the operator cannot compare (module docstring)."""
        parse, expected = _VALUE_FORMATS.get(name, (None, ""))
        for value in self.values:
            if parse is not None and parse(value) is None:
                raise PolicyFormatError(f"condition {operator} on {key}: {value!r} is not {expected}")
            if name.startswith("Arn") and _ambiguous_arn_pattern(value):
                raise PolicyFormatError(
                    f"condition {operator} on {key}: {value!r} has fewer than the six ARN components "
                    "that ARN operators compare one by one; AWS does not say whether its trailing * "
                    "covers the missing ones (write them out, e.g. arn:aws:iam::*:*)"
                )

    def matches(self, context: Mapping[str, tuple[str, ...]]) -> bool:
        actual = context.get(self.key)
        if self.null_check:
            absent = "true" if not actual else "false"
            return any(absent == value.lower() for value in self.values)
        if not actual:
            if self.set_operator == "ForAllValues":
                return True
            if self.set_operator == "ForAnyValue":
                return False
            return self.if_exists or self.negated
        expected = [value for value in (self._substituted(v, context) for v in self.values) if value is not None]

        def one(value: str) -> bool:
            hit = any(self.compare(value, candidate) for candidate in expected)
            return not hit if self.negated else hit

        if self.set_operator == "ForAllValues":
            return all(one(value) for value in actual)
        if self.set_operator == "ForAnyValue" or not self.negated:
            return any(one(value) for value in actual)
        return all(one(value) for value in actual)

    def _substituted(self, value: str, context: Mapping[str, tuple[str, ...]]) -> str | None:
        if not self.substitutes or "${" not in value:
            return value
        return substitute(value, context, escape=self.escape)


def _literal(text: str) -> str:
    return text


class _Statement:
    """One statement, compiled."""

    __slots__ = (
        "action_regex",
        "conditions",
        "deny",
        "matches_every_action",
        "not_action",
        "not_resource",
        "resources",
        "services",
        "sid",
        "variables",
    )

    def __init__(self, statement: Any, index: int, *, variables: bool = True) -> None:
        # Whether ${...} in this statement are policy variables: its document's Version is
        # 2012-10-17 (``uses_policy_variables``). Otherwise they are literal text everywhere.
        self.variables = variables
        if not isinstance(statement, dict):
            raise PolicyFormatError(f"statement {index} is not an object")
        self.sid = statement.get("Sid", f"#{index}")
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyFormatError(f"statement {self.sid}: Effect must be Allow or Deny, got {effect!r}")
        self.deny = effect == "Deny"
        actions, self.not_action = self._pair(statement, "Action", "NotAction")
        self.action_regex = re.compile(
            "|".join(f"(?:{_glob_regex(pattern)})" for pattern in actions), re.IGNORECASE | re.DOTALL
        )
        self.matches_every_action = "*" in actions
        # The services the patterns can name, when every pattern spells its service out: an
        # action of any other service is decided without a regular expression.
        prefixes = [pattern.split(":", 1)[0] for pattern in actions]
        literal = all(":" in pattern for pattern in actions) and not any("*" in p or "?" in p for p in prefixes)
        self.services = frozenset(prefix.lower() for prefix in prefixes) if literal else None
        resources, self.not_resource = self._pair(statement, "Resource", "NotResource")
        self.resources = resources
        conditions = statement.get("Condition", {})
        if not isinstance(conditions, dict):
            raise PolicyFormatError(f"statement {self.sid}: Condition must be an object")
        self.conditions = []
        for operator, keys in conditions.items():
            if not isinstance(keys, dict):
                raise PolicyFormatError(f"statement {self.sid}: Condition {operator} must map keys to values")
            for key, values in keys.items():
                self.conditions.append(_Condition(operator, key, values, variables=variables))

    def _pair(self, statement: dict[str, Any], positive: str, negative: str) -> tuple[list[str], bool]:
        if (positive in statement) == (negative in statement):
            raise PolicyFormatError(f"statement {self.sid}: needs exactly one of {positive} and {negative}")
        if positive in statement:
            return _as_list(statement[positive], positive), False
        return _as_list(statement[negative], negative), True

    def covers_action(self, action: str) -> bool:
        return (self.action_regex.fullmatch(action) is not None) != self.not_action


class _Covering:
    """The statements that cover a set of actions, split by effect."""

    __slots__ = ("allows", "denies", "group", "outside_policies", "resource_independent")

    def __init__(self, group: int, statements: list[_Statement], outside_policies: bool = False) -> None:
        self.group = group
        self.outside_policies = outside_policies
        self.denies = [statement for statement in statements if statement.deny]
        self.allows = [statement for statement in statements if not statement.deny]
        self.resource_independent = all(
            statement.resources == ["*"] and not statement.not_resource for statement in statements
        )


class PolicySet:
    """Identity-based policy documents compiled for many evaluations.

    ``PolicySet([doc1, doc2]).evaluate("iam:GetUser", arn, {"aws:username": "alice"})``
    """

    def __init__(self, policies: Iterable[Mapping[str, Any]]) -> None:
        self.statements: list[_Statement] = []
        for policy in policies:
            if not isinstance(policy, Mapping) or "Statement" not in policy:
                raise PolicyFormatError("a policy document is an object with a Statement element")
            version = policy.get("Version")
            if "Version" in policy and version not in POLICY_LANGUAGE_VERSIONS:
                allowed = " or ".join(POLICY_LANGUAGE_VERSIONS)
                raise PolicyFormatError(f"Version must be {allowed}, got {version!r}")
            body = policy["Statement"]
            body = [body] if isinstance(body, dict) else body
            if not isinstance(body, list):
                raise PolicyFormatError("Statement must be an object or a list of objects")
            variables = uses_policy_variables(policy)
            self.statements.extend(
                _Statement(statement, index, variables=variables) for index, statement in enumerate(body)
            )
        self._by_action: dict[str, _Covering] = {}
        self._groups: dict[tuple[int, ...], _Covering] = {}
        self._plans: dict[str, tuple[list[int], list[int]]] = {}
        self._resource_patterns: dict[str, re.Pattern[str]] = {}
        self._decisions: dict[tuple[int, Hashable], Decision] = {}

    def statements_for(self, action: str) -> tuple[list[_Statement], list[_Statement]]:
        """The (Deny, Allow) statements whose Action/NotAction covers ``action``, cached.

        For an action AWS decides outside policies they are listed, yet do not decide it.
        """
        covering = self._covering(action)
        return covering.denies, covering.allows

    def _service_plan(self, service: str) -> tuple[list[int], list[int]]:
        """For a service: the statements that cover all its actions, and those to test per action."""
        plan = self._plans.get(service)
        if plan is None:
            always, per_action = [], []
            for index, statement in enumerate(self.statements):
                if statement.matches_every_action:
                    covers = not statement.not_action
                elif statement.services is not None and service not in statement.services:
                    covers = statement.not_action  # no pattern names this service
                else:
                    per_action.append(index)
                    continue
                if covers:
                    always.append(index)
            plan = (always, per_action)
            self._plans[service] = plan
        return plan

    def _group(self, indexes: list[int]) -> _Covering:
        # Actions covered by the same statements share one group (and its cached decisions).
        key = tuple(sorted(indexes))
        found = self._groups.get(key)
        if found is None:
            found = _Covering(len(self._groups), [self.statements[i] for i in key])
            self._groups[key] = found
        return found

    def _covering(self, action: str) -> _Covering:
        key = action.lower()
        found = self._by_action.get(key)
        if found is None:
            always, per_action = self._service_plan(key.split(":", 1)[0])
            found = self._group(always + [i for i in per_action if self.statements[i].covers_action(action)])
            if key in DECIDED_OUTSIDE_POLICIES:
                # Its own group, outside the shared caches: policies do not decide it.
                found = _Covering(-1, found.denies + found.allows, outside_policies=True)
            self._by_action[key] = found
        return found

    def service_decision(
        self, service: str, context: Mapping[str, tuple[str, ...]], context_key: Hashable
    ) -> Decision | None:
        """The one decision for every action and resource of ``service``, or None if they can differ.

        It exists when no statement names an action of the service individually and every
        statement that covers the service has ``Resource: "*"``: then the whole service is decided
        at once (a catalog-wide check then costs per service, not per action).
        """
        if service.lower() in _SERVICES_WITH_EXCEPTIONS:
            return None  # some of its actions are allowed whatever the policies say
        always, per_action = self._service_plan(service.lower())
        if per_action:
            return None
        covering = self._group(always)
        if not covering.resource_independent:
            return None
        cache_key = (covering.group, context_key)
        decision = self._decisions.get(cache_key)
        if decision is None:
            decision = self._decide(covering, "*", context)
            self._decisions[cache_key] = decision
        return decision

    def _resource_matches(self, statement: _Statement, resource: str, context: Mapping[str, tuple[str, ...]]) -> bool:
        hit = False
        for pattern in statement.resources:
            if statement.variables and "${" in pattern:
                resolved = substitute(pattern, context, escape=_escape_glob)
                if resolved is None:
                    continue
                compiled = self._compiled_resource(resolved)
            else:
                compiled = self._compiled_resource(pattern)
            if compiled.fullmatch(resource):
                hit = True
                break
        return hit != statement.not_resource

    def _compiled_resource(self, pattern: str) -> re.Pattern[str]:
        compiled = self._resource_patterns.get(pattern)
        if compiled is None:
            compiled = re.compile(_unescape_regex(_resource_regex(pattern)), re.DOTALL)
            self._resource_patterns[pattern] = compiled
        return compiled

    def _applies(self, statement: _Statement, resource: str, context: Mapping[str, tuple[str, ...]]) -> bool:
        return self._resource_matches(statement, resource, context) and all(
            condition.matches(context) for condition in statement.conditions
        )

    def evaluate(self, action: str, resource: str, context: Context | None = None) -> Decision:
        """Decide one request; ``context`` maps condition keys to values."""
        normalized = normalize_context(context or {})
        return self.evaluate_normalized(action, resource, normalized)

    def evaluate_normalized(
        self,
        action: str,
        resource: str,
        context: Mapping[str, tuple[str, ...]],
        context_key: Hashable | None = None,
    ) -> Decision:
        """``evaluate`` for a context already passed through ``normalize_context`` (faster).

        ``context_key`` names the context (any hashable): a caller that passes the same key
        promises the same context, so a decision that does not depend on the resource (every
        covering statement has ``Resource: "*"``) is computed once per statement group and key.
        """
        covering = self._covering(action)
        if covering.outside_policies:
            return Decision.ALLOW
        if context_key is not None and covering.resource_independent:
            cache_key = (covering.group, context_key)
            decision = self._decisions.get(cache_key)
            if decision is None:
                decision = self._decide(covering, resource, context)
                self._decisions[cache_key] = decision
            return decision
        return self._decide(covering, resource, context)

    def _decide(self, covering: _Covering, resource: str, context: Mapping[str, tuple[str, ...]]) -> Decision:
        for statement in covering.denies:
            if self._applies(statement, resource, context):
                return Decision.EXPLICIT_DENY
        for statement in covering.allows:
            if self._applies(statement, resource, context):
                return Decision.ALLOW
        return Decision.IMPLICIT_DENY


def evaluate(
    policies: Sequence[Mapping[str, Any]], action: str, resource: str, context: Context | None = None
) -> Decision:
    """Decide one request against identity-based policy documents, as AWS does.

    Returns ``Decision.ALLOW``, ``Decision.EXPLICIT_DENY`` or ``Decision.IMPLICIT_DENY`` (a ``str``
    enum: ``"Allow"``, ``"ExplicitDeny"``, ``"ImplicitDeny"``). For many requests against the same
    documents, build a ``PolicySet`` once instead. AWS allows ``sts:GetSessionToken`` and
    ``sts:GetCallerIdentity`` whatever the policies say; so does this function, and
    ``decided_outside_policies(action)`` gives the reason.
    """
    return PolicySet(policies).evaluate(action, resource, context)


class LayeredPolicySet:
    """Identity policies under guard layers that must also allow, as AWS evaluates them.

    A guard layer is a set of policies that can only take permissions away: one level of service
    control policies (the root, an OU, the account: each level must allow), or a permission
    boundary. AWS's logic: an explicit Deny in any layer wins; otherwise the request is allowed
    only when the identity policies and every guard layer allow it; else it is an implicit deny.

    ``LayeredPolicySet(PolicySet([mfa, allow_all]), [PolicySet([scp, full_aws_access])])`` offers
    the same ``evaluate``, ``evaluate_normalized`` and ``service_decision`` as a ``PolicySet``.
    """

    def __init__(self, identity: PolicySet, guards: Sequence[PolicySet]) -> None:
        self.identity = identity
        self.guards = list(guards)

    @property
    def layers(self) -> list[PolicySet]:
        """The identity policies first, then each guard layer."""
        return [self.identity, *self.guards]

    def evaluate(self, action: str, resource: str, context: Context | None = None) -> Decision:
        """Decide one request; ``context`` maps condition keys to values."""
        return self.evaluate_normalized(action, resource, normalize_context(context or {}))

    def evaluate_normalized(
        self,
        action: str,
        resource: str,
        context: Mapping[str, tuple[str, ...]],
        context_key: Hashable | None = None,
    ) -> Decision:
        """``evaluate`` for a normalized context; ``context_key`` as in ``PolicySet``."""
        return combine_layers(
            [layer.evaluate_normalized(action, resource, context, context_key) for layer in self.layers]
        )

    def service_decision(
        self, service: str, context: Mapping[str, tuple[str, ...]], context_key: Hashable
    ) -> Decision | None:
        """The one decision for every action of ``service``, when every layer has one; else None."""
        decisions = []
        for layer in self.layers:
            decision = layer.service_decision(service, context, context_key)
            if decision is None:
                return None
            decisions.append(decision)
        return combine_layers(decisions)


def combine_layers(decisions: Sequence[Decision]) -> Decision:
    """The decision of layers that must all allow (identity first): any explicit Deny wins."""
    if Decision.EXPLICIT_DENY in decisions:
        return Decision.EXPLICIT_DENY
    if all(decision is Decision.ALLOW for decision in decisions):
        return Decision.ALLOW
    return Decision.IMPLICIT_DENY


# ---------------------------------------------------------------------------------------------
# Which statement decided a request: for reports that show why (explain's grid). Added beside the
# evaluator, not inside it: the decision is still ``evaluate_normalized``'s; this walks the same
# statements, in the same order, and names the one that decided.


@dataclass(frozen=True)
class Deciding:
    """A decision and the statement that made it.

    ``layer`` is the position of the deciding policy set among ``LayeredPolicySet.layers`` (0 for
    a plain ``PolicySet``) and ``statement`` the deciding statement's position in that set's
    ``statements``. For an explicit deny: the first Deny that applies (in the first layer that has
    one); for an allow: the identity policies' first Allow that applies. Both are None for an
    implicit deny (no statement decides one) and for an action AWS decides outside policies.
    """

    decision: Decision
    layer: int | None = None
    statement: int | None = None


def deciding_statement(
    policy_set: PolicySet | LayeredPolicySet, action: str, resource: str, context: Mapping[str, tuple[str, ...]]
) -> Deciding:
    """Decide one request (``context`` passed through ``normalize_context``) and name the statement
    that decided it; ``.decision`` always equals ``policy_set.evaluate_normalized(...)``."""
    if isinstance(policy_set, LayeredPolicySet):
        found = [deciding_statement(layer, action, resource, context) for layer in policy_set.layers]
        for layer, deciding in enumerate(found):
            if deciding.decision is Decision.EXPLICIT_DENY:
                return Deciding(Decision.EXPLICIT_DENY, layer, deciding.statement)
        if all(deciding.decision is Decision.ALLOW for deciding in found):
            return found[0]  # the identity policies' Allow (or AWS's, outside policies)
        return Deciding(Decision.IMPLICIT_DENY)
    covering = policy_set._covering(action)
    if covering.outside_policies:
        return Deciding(Decision.ALLOW)
    for statements, decision in ((covering.denies, Decision.EXPLICIT_DENY), (covering.allows, Decision.ALLOW)):
        for statement in statements:
            if policy_set._applies(statement, resource, context):
                index = next(i for i, candidate in enumerate(policy_set.statements) if candidate is statement)
                return Deciding(decision, 0, index)
    return Deciding(Decision.IMPLICIT_DENY)
