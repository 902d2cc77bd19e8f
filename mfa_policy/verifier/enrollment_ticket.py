"""The request keys the ``enrollment`` option's gates read, one sample per class (pure).

The verifier proves the guarantees in a few request contexts (keys, console, mfa). The
``enrollment`` option makes decisions depend on two more keys a request may carry:
``aws:PrincipalTag/<key>`` (a tag on the caller's IAM user) and ``aws:SourceIp``. To prove a
guarantee for every value a real request can carry, the verifier takes one sample from each class
of values that the policies can tell apart:

* the tag: absent, the intended value, every value a policy compares the tag with, and one other;
* the source IP: for every network the intent or a policy names, an address inside it and in none
  of the smaller networks inside it (CIDR networks are either nested or apart, so these cover
  every region), an IPv4 and an IPv6 address outside all of them, and none at all (a request
  through a VPC endpoint carries no ``aws:SourceIp``).

That is exact for conditions whose outcome depends only on those classes: ``StringEquals`` and
``StringNotEquals`` on the tag, ``IpAddress`` and ``NotIpAddress`` on the source IP, their
``...IfExists`` forms and ``Null``, with literal values. ``representable`` tells those from any
other condition on the two keys, which the verifier then reports as unproven (G1).
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mfa_policy.policy.enrollment import SOURCE_IP_KEY, EnrollmentGates

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_SOURCE_IP = SOURCE_IP_KEY.lower()
# The operators (without IfExists) whose outcome the samples decide, per key kind.
_TAG_OPERATORS = frozenset({"StringEquals", "StringNotEquals", "Null"})
_IP_OPERATORS = frozenset({"IpAddress", "NotIpAddress", "Null"})
_VALUE_OPERATORS = frozenset({"StringEquals", "StringNotEquals"})
# Addresses reserved for documentation (RFC 5737; RFC 3849 and RFC 9637): the readable choice
# for "outside".
_OUTSIDE = {
    4: ("192.0.2.1", "198.51.100.1", "203.0.113.1"),
    6: ("2001:db8::1", "3fff::1"),
}
_WHOLE = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}
_OTHER_TAG_VALUES = ("revoked", "no", "other")


def varied_keys(gates: EnrollmentGates | None) -> frozenset[str]:
    """The condition keys (lower case) the gates make the verifier vary."""
    if gates is None:
        return frozenset()
    keys = set()
    if gates.condition_key is not None:
        keys.add(gates.condition_key.lower())
    if gates.source_ips:
        keys.add(_SOURCE_IP)
    return frozenset(keys)


def _base_operator(operator: str) -> tuple[str, str]:
    """(set operator, operator without IfExists): ``ForAnyValue:StringLikeIfExists`` ->
    (``ForAnyValue``, ``StringLike``)."""
    set_operator, _, name = operator.rpartition(":")
    if name.endswith("IfExists") and name != "IfExists":
        name = name[: -len("IfExists")]
    return set_operator, name


def _values(values: Any) -> list[Any]:
    return values if isinstance(values, list) else [values]


def representable(operator: str, key: str, values: Any, gates: EnrollmentGates | None) -> bool:
    """Whether the samples decide a condition on ``key``, a key the gates vary."""
    set_operator, name = _base_operator(operator)
    lowered = key.lower()
    if set_operator or lowered not in varied_keys(gates):
        return False
    if any("${" in str(value) for value in _values(values)):
        return False  # a policy variable: its value is not one of the samples
    if lowered == _SOURCE_IP:
        if name == "Null":
            return True
        return name in _IP_OPERATORS and all(_network(value) is not None for value in _values(values))
    return name in _TAG_OPERATORS


def _network(value: Any) -> Network | None:
    # As the evaluator reads a policy's value: host bits are masked, as IAM does.
    try:
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        return None


def condition_entries(documents: Sequence[Mapping[str, Any]]) -> Iterator[tuple[Mapping[str, Any], str, str, Any]]:
    """Every (statement, operator, key, values) of the documents' conditions."""
    for document in documents:
        statements = document.get("Statement", [])
        for statement in [statements] if isinstance(statements, dict) else statements:
            for operator, keys in statement.get("Condition", {}).items():
                for key, values in keys.items():
                    yield statement, operator, key, values


@dataclass(frozen=True)
class TicketRequest:
    """One combination of the values the gates read, and whether the intent lets it enroll."""

    tag: str | None
    """The value of the intended tag on alice's user; None: she has no such tag (or no tag gate)."""
    source_ip: str | None
    """The request's ``aws:SourceIp``; None: absent (or no network gate)."""
    ticket: bool
    """The intent lets a user without MFA enroll with it: every configured gate holds."""
    label: str
    """How reports name it: ``tag mfa-enrollment=allowed, from 203.0.113.1``."""

    def values(self, gates: EnrollmentGates) -> dict[str, tuple[str, ...]]:
        """The request keys it sets (normalized: lower-case keys, tuples)."""
        found: dict[str, tuple[str, ...]] = {}
        if gates.condition_key is not None and self.tag is not None:
            found[gates.condition_key.lower()] = (self.tag,)
        if gates.source_ips and self.source_ip is not None:
            found[_SOURCE_IP] = (self.source_ip,)
        return found

    def applied(self, gates: EnrollmentGates, values: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        """``values`` (a normalized context) with the gates' keys set as this request says."""
        kept = {key: value for key, value in values.items() if key not in varied_keys(gates)}
        return {**kept, **self.values(gates)}


def ticket_values(gates: EnrollmentGates | None) -> dict[str, str]:
    """The keys of a request that holds the ticket: the intended tag, an address in the first
    network. The verifier's base contexts carry them, so G2-G9 are checked with the ticket."""
    if gates is None:
        return {}
    values = {}
    if gates.tag is not None and gates.condition_key is not None:
        values[gates.condition_key] = gates.tag[1]
    if gates.source_ips:
        values[SOURCE_IP_KEY] = _inside(ipaddress.ip_network(gates.source_ips[0]), [])
    return values


def _inside(network: Network, holes: Sequence[Network], preferred: Sequence[str] = ()) -> str:
    """An address of ``network`` in none of ``holes`` (networks inside it); "" if they cover it."""
    candidates = [*preferred]
    first = network.network_address + 1 if network.num_addresses > 2 else network.network_address
    candidates.append(str(first))
    for candidate in candidates:
        address = ipaddress.ip_address(candidate)
        if address in network and not any(address in hole for hole in holes):
            return candidate
    blocks = [network]
    for hole in holes:
        remaining: list[Network] = []
        for block in blocks:
            if block.version != hole.version or not block.overlaps(hole):
                remaining.append(block)
            elif hole.subnet_of(block) and hole != block:  # type: ignore[arg-type]
                remaining.extend(block.address_exclude(hole))  # type: ignore[arg-type]
        blocks = remaining
    if not blocks:
        return ""
    block = min(blocks, key=lambda item: int(item.network_address))
    return str(block.network_address + 1 if block.num_addresses > 2 else block.network_address)


def _ip_samples(gates: EnrollmentGates, documents: Sequence[Mapping[str, Any]]) -> list[str]:
    """One address per region of the networks the intent and the policies name, inside first."""
    networks = {ipaddress.ip_network(text) for text in gates.source_ips}
    for _, operator, key, values in condition_entries(documents):
        if key.lower() == _SOURCE_IP and _base_operator(operator)[1] in ("IpAddress", "NotIpAddress"):
            networks.update(found for value in _values(values) if (found := _network(value)) is not None)
    ordered = sorted(networks, key=lambda n: (n.version, int(n.network_address), n.prefixlen))
    samples = []
    for network in ordered:
        inner = [
            other
            for other in ordered
            if other != network and other.version == network.version and other.subnet_of(network)  # type: ignore[arg-type]
        ]
        sample = _inside(network, inner)
        if sample and sample not in samples:
            samples.append(sample)
    for version in (4, 6):
        tops = [network for network in ordered if network.version == version]
        sample = _inside(_WHOLE[version], tops, _OUTSIDE[version])
        if sample and sample not in samples:
            samples.append(sample)
    return samples


def _tag_samples(gates: EnrollmentGates, documents: Sequence[Mapping[str, Any]]) -> list[str | None]:
    assert gates.tag is not None and gates.condition_key is not None
    key = gates.condition_key.lower()
    literals = [gates.tag[1]]
    for _, operator, condition_key, values in condition_entries(documents):
        if condition_key.lower() == key and _base_operator(operator)[1] in _VALUE_OPERATORS:
            literals += [str(value) for value in _values(values)]
    other = next(value for value in (*_OTHER_TAG_VALUES, *(f"not-{v}" for v in literals)) if value not in literals)
    return [*dict.fromkeys(literals), other, None]


def ticket_requests(gates: EnrollmentGates | None, documents: Sequence[Mapping[str, Any]]) -> list[TicketRequest]:
    """Every combination of tag and source-IP samples, the ticket first; none without gates."""
    if gates is None:
        return []
    networks = [ipaddress.ip_network(text) for text in gates.source_ips]
    tags: list[str | None] = _tag_samples(gates, documents) if gates.tag is not None else [None]
    ips: list[str | None] = [*_ip_samples(gates, documents), None] if gates.source_ips else [None]
    requests = []
    for tag, source_ip in itertools.product(tags, ips):
        parts = []
        tag_ok = gates.tag is None or tag == gates.tag[1]
        ip_ok = not gates.source_ips or (
            source_ip is not None and any(ipaddress.ip_address(source_ip) in network for network in networks)
        )
        if gates.tag is not None:
            parts.append("no tag" if tag is None else f"tag {gates.tag[0]}={tag}")
        if gates.source_ips:
            where = "inside" if ip_ok else "outside"
            parts.append("no source IP" if source_ip is None else f"from {source_ip} ({where})")
        requests.append(TicketRequest(tag, source_ip, tag_ok and ip_ok, ", ".join(parts)))
    requests.sort(key=lambda request: not request.ticket)  # stable: the first ticket leads
    return requests
