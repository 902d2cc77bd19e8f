"""The ``enrollment`` option: enrolling an MFA device without MFA needs a ticket (pure).

Without the option, whoever holds a user's password or access keys before that user enrolls can
enroll their own device, and someone holding an enrolled user's keys can add one. With it, a user
without MFA may enroll only while both hold (each gate that is configured):

* **the tag**: their own IAM user carries a tag (``aws:PrincipalTag/<key>`` equals the value),
  which only an administrator can set (``iam:TagUser`` is denied without MFA, G1);
* **the networks**: the request comes from one of the listed networks (``aws:SourceIp``). A
  request without a source IP (through a VPC endpoint) counts as outside.

The gates are Deny statements, one per gate and per "without MFA" condition of the document:

* ``StringNotEquals aws:PrincipalTag/<key>`` matches when the tag is absent or has another value;
* ``NotIpAddress aws:SourceIp`` matches when the address is outside every network, and also when
  the key is absent (a negated operator matches an absent key; ``...IfExists`` would too).

Denies, not Allows: an Allow restricts nothing next to a policy that allows everything.
The enrollment actions are ``iam:CreateVirtualMFADevice``, ``iam:EnableMFADevice`` and, where
the first-sign-in option puts it in the bootstrap set, ``iam:ChangePassword``. The read-only
bootstrap actions stay open (the console's enrollment page reads them), and so does
``iam:ResyncMFADevice``: it only re-synchronizes a device already enabled on the user, with two
codes from that device, so it enrolls nothing.

``check_enrollment`` validates the option (as written in Python: ``require_tag`` with ``key``
and ``value``, ``source_ips``) and returns its canonical form; ``enrollment_statements`` builds
the gates.
"""

from __future__ import annotations

import copy
import ipaddress
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mfa_policy.policy.validation import InvalidInputError, check_fields

# The tag an administrator sets on a user to open their enrollment; it reads as a sentence in the
# IAM console's Tags tab: "mfa-enrollment: allowed".
DEFAULT_TAG_KEY = "mfa-enrollment"
DEFAULT_TAG_VALUE = "allowed"
# Enough for offices and VPN egress ranges; with every other option on, the managed policy and
# the SCP still fit AWS's quotas (tests/policy/test_enrollment.py builds the largest).
MAX_SOURCE_IPS = 20

PRINCIPAL_TAG_PREFIX = "aws:PrincipalTag/"
SOURCE_IP_KEY = "aws:SourceIp"
# The bootstrap actions that enroll (or, for the first sign-in, take over) a user: the gates
# apply to those of them the bootstrap set holds.
ENROLLMENT_ACTIONS = ("iam:ChangePassword", "iam:CreateVirtualMFADevice", "iam:EnableMFADevice")

# IAM's tag rules (IAM API reference, Tag): letters, digits, white space and _ . : / = + - @.
_TAG_SYMBOLS = frozenset("_.:/=+-@")
_TAG_KEY_MAX = 128
_TAG_VALUE_MAX = 256
TAG_KEY_RULE = f"an IAM tag key: 1-{_TAG_KEY_MAX} letters, digits, spaces and _ . : / = + - @, not starting with 'aws:'"
TAG_VALUE_RULE = f"an IAM tag value: 0-{_TAG_VALUE_MAX} letters, digits, spaces and _ . : / = + - @"
SOURCE_IPS_RULE = (
    f"a non-empty list of at most {MAX_SOURCE_IPS} distinct IPv4 or IPv6 networks in CIDR notation with "
    "the host bits zero, e.g. '203.0.113.0/24' or '2001:db8::/32' (an address alone is one host)"
)


def _tag_text(value: str) -> bool:
    return all(
        char in _TAG_SYMBOLS or unicodedata.category(char)[0] in "LNZ"  # letters, numbers, separators
        for char in value
    )


def check_tag_key(value: Any, key: str) -> str:
    """Return ``value`` if IAM accepts it as a tag key a user may carry (not an ``aws:`` key)."""
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= _TAG_KEY_MAX
        or value.lower().startswith("aws:")
        or not _tag_text(value)
    ):
        raise InvalidInputError(key, value, TAG_KEY_RULE)
    return value


def check_tag_value(value: Any, key: str) -> str:
    """Return ``value`` if IAM accepts it as a tag value (it may be empty)."""
    if not isinstance(value, str) or len(value) > _TAG_VALUE_MAX or not _tag_text(value):
        raise InvalidInputError(key, value, TAG_VALUE_RULE)
    return value


def _network_order(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[int, int, int]:
    return (network.version, int(network.network_address), network.prefixlen)


def check_source_ips(value: Any, key: str) -> tuple[str, ...]:
    """Return ``value`` as networks in CIDR notation, IPv4 first, in address order.

    Strict: a network with host bits set (``203.0.113.7/24``) is refused with the network it
    probably means, since the user may have meant one host. An address alone is that one host
    (``/32``, ``/128``), as IAM reads it. The same network twice is refused.
    """
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Collection) or not value:
        raise InvalidInputError(key, value, SOURCE_IPS_RULE)
    if len(value) > MAX_SOURCE_IPS:
        raise InvalidInputError(key, value, SOURCE_IPS_RULE + f"; got {len(value)} networks")
    networks = []
    for item in value:
        if not isinstance(item, str):
            raise InvalidInputError(key, value, SOURCE_IPS_RULE)
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=True))
        except ValueError:
            hint = ""
            try:
                loose = ipaddress.ip_network(item.strip(), strict=False)
                hint = f"; {item!r} has host bits set (its network is '{loose}')"
            except ValueError:
                hint = f"; {item!r} is not a network"
            raise InvalidInputError(key, value, SOURCE_IPS_RULE + hint) from None
    repeated = sorted({str(n) for n in networks if networks.count(n) > 1})
    if repeated:
        raise InvalidInputError(key, value, SOURCE_IPS_RULE + f"; {', '.join(repeated)} appears more than once")
    return tuple(str(network) for network in sorted(networks, key=_network_order))


_FIELDS = ("require_tag", "source_ips")
_TAG_FIELDS = ("key", "value")


@dataclass(frozen=True)
class EnrollmentGates:
    """The checked ``enrollment`` option: the tag (key, value) and/or the networks."""

    tag: tuple[str, str] | None = None
    """``(key, value)`` the user's IAM user must carry; None: no tag gate."""
    source_ips: tuple[str, ...] = ()
    """The networks (CIDR, canonical, sorted) a request must come from; empty: no network gate."""

    @property
    def condition_key(self) -> str | None:
        """``aws:PrincipalTag/<key>``, or None without a tag gate."""
        return None if self.tag is None else PRINCIPAL_TAG_PREFIX + self.tag[0]

    def as_option(self) -> dict[str, Any]:
        """The canonical ``enrollment`` argument: what ``check_enrollment`` returns for it."""
        option: dict[str, Any] = {}
        if self.tag is not None:
            option["require_tag"] = {"key": self.tag[0], "value": self.tag[1]}
        if self.source_ips:
            option["source_ips"] = list(self.source_ips)
        return option


def enrollment_gates(value: Any, key: str = "enrollment", *, camel_case: bool = False) -> EnrollmentGates:
    """Check an ``enrollment`` option and return its gates.

    ``value`` is ``{"require_tag": {"key": ..., "value": ...}, "source_ips": [...]}`` with at
    least one of the two (``key`` and ``value`` default to ``mfa-enrollment`` and ``allowed``);
    with ``camel_case`` the fields are spelled ``requireTag`` and ``sourceIps``, as in the stack
    config and other languages. Errors name the field, e.g. ``enrollment.require_tag.key``.
    """
    fields = ("requireTag", "sourceIps") if camel_case else _FIELDS
    rule = (
        f"an object with {fields[0]} ({{key, value}}: the tag the user must carry; defaults "
        f"{DEFAULT_TAG_KEY!r} and {DEFAULT_TAG_VALUE!r}) and/or {fields[1]} (a list of networks), at least one"
    )
    if not isinstance(value, Mapping):
        raise InvalidInputError(key, value, rule)
    check_fields(value, key, fields)
    present = {name: value[name] for name in fields if value.get(name) is not None}
    if not present:
        raise InvalidInputError(key, value, rule)
    tag = None
    if fields[0] in present:
        spec = present[fields[0]]
        tag_key = f"{key}.{fields[0]}"
        if not isinstance(spec, Mapping):
            raise InvalidInputError(
                tag_key, spec, f"an object {{key, value}} (defaults {DEFAULT_TAG_KEY!r} and {DEFAULT_TAG_VALUE!r})"
            )
        check_fields(spec, tag_key, tuple(_TAG_FIELDS))
        name = spec.get("key")
        text = spec.get("value")
        tag = (
            check_tag_key(DEFAULT_TAG_KEY if name is None else name, f"{tag_key}.key"),
            check_tag_value(DEFAULT_TAG_VALUE if text is None else text, f"{tag_key}.value"),
        )
    networks: tuple[str, ...] = ()
    if fields[1] in present:
        networks = check_source_ips(present[fields[1]], f"{key}.{fields[1]}")
    return EnrollmentGates(tag, networks)


def check_enrollment(value: Any, key: str = "enrollment") -> dict[str, Any]:
    """Check an ``enrollment`` option (Python spelling) and return its canonical form.

    The same gates always give the same form (networks sorted, defaults filled in), so the
    document is the same whatever order or spelling the user chose. Raises ``InvalidInputError``.
    """
    return enrollment_gates(value, key).as_option()


def enrollment_statements(
    gates: EnrollmentGates,
    bootstrap: Sequence[str],
    without_mfa: Sequence[tuple[str, Mapping[str, Any]]],
) -> list[dict[str, Any]]:
    """The Deny statements of the gates.

    ``bootstrap`` is the bootstrap set's actions (the gates cover its enrollment actions);
    ``without_mfa`` holds the document's (Sid suffix, condition) pairs for a session that counts
    as without MFA (``WithoutMfa``, and ``WhenMfaIsOlderThanMaxAge`` with a max MFA age).
    """
    actions = sorted(action for action in bootstrap if action in ENROLLMENT_ACTIONS)
    statements: list[dict[str, Any]] = []
    # Each statement gets its own lists and dicts: editing one must not edit another.
    for suffix, condition in without_mfa:
        if gates.tag is not None:
            statements.append(
                {
                    "Sid": f"DenyMfaEnrollmentWithoutTag{suffix}",
                    "Effect": "Deny",
                    "Action": list(actions),
                    "Resource": "*",
                    "Condition": {**copy.deepcopy(condition), "StringNotEquals": {gates.condition_key: gates.tag[1]}},
                }
            )
        if gates.source_ips:
            statements.append(
                {
                    "Sid": f"DenyMfaEnrollmentOutsideNetworks{suffix}",
                    "Effect": "Deny",
                    "Action": list(actions),
                    "Resource": "*",
                    "Condition": {**copy.deepcopy(condition), "NotIpAddress": {SOURCE_IP_KEY: list(gates.source_ips)}},
                }
            )
    return statements
