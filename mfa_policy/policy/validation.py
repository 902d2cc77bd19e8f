"""Input rules shared by the policy builder, the component and the program's config (pure).

Every rule takes the ``key`` it checks (an argument name such as ``group_names`` or a config key
such as ``mfa-policy:groups``) so that one rule gives the same clear message wherever the value
came from: the key, the value given, and what is allowed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from mfa_policy.policy.partitions import partition_ids, partition_of_region

# Every partition AWS publishes (botocore's partitions data, vendored: mfa_policy/policy/partitions.py).
PARTITIONS = partition_ids()

# IAM's documented patterns (IAM API reference, CreateGroup / CreatePolicy).
_IAM_NAME = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)
_IAM_PATH = re.compile(r"/|/[\x21-\x7e]+/")
_IAM_PATH_MAX = 512
_DESCRIPTION_MAX = 1000
_TAGS_MAX = 50
_TAG_KEY_MAX = 128
_TAG_VALUE_MAX = 256
_ACCOUNT_ID = re.compile(r"\d{12}", re.ASCII)
# The account shown when none is known (preview, verify and explain without a stack's accountId):
# the example account AWS's own documentation uses most, moto's default account, and the default of
# mfa_policy.testing.Mocks, so that an offline preview, a verify and a mock test name the same one.
PLACEHOLDER_ACCOUNT_ID = "123456789012"

IAM_NAME_RULE = "1-128 characters of letters, digits and +=,.@_-"


def is_output(value: Any) -> bool:
    """Whether ``value`` is a Pulumi ``Output`` or an unknown value (duck-typed: this module is pure)."""
    kind = type(value)
    return kind.__name__ in ("Output", "Unknown") and kind.__module__.startswith("pulumi.")


def contains_output(value: Any) -> bool:
    """Whether ``value`` is, or holds in a list or mapping, a Pulumi ``Output`` or unknown value."""
    if is_output(value):
        return True
    if isinstance(value, (list, tuple)):
        return any(contains_output(item) for item in value)
    if isinstance(value, Mapping):
        return any(contains_output(item) for item in value.values())
    return False


def shown(value: Any) -> str:
    """``value`` as a message shows it: Python's repr, but an output as ``<output>`` and a resource
    as ``<aws.iam.Group 'name'>``, never ``<pulumi.output.Output object at 0x...>``."""
    if is_output(value):
        return "<unknown>" if type(value).__name__ == "Unknown" else "<output>"
    if isinstance(value, list):
        return "[" + ", ".join(shown(item) for item in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(shown(item) for item in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{shown(key)}: {shown(item)}" for key, item in value.items()) + "}"
    kind = type(value)
    if kind.__module__.startswith("pulumi_aws.") and hasattr(value, "_name"):
        service = kind.__module__.split(".")[1]
        return f"<aws.{service}.{kind.__name__} {value._name!r}>"
    return repr(value)


class InvalidInputError(ValueError):
    """A config value or argument that breaks its rule; the message names the key."""

    def __init__(self, key: str, value: Any, allowed: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"{key}: got {shown(value)}; expected {allowed}.")


def check_account_id(value: Any, key: str = "account_id") -> str:
    """Return ``value`` if it is an AWS account ID: a string of exactly 12 digits."""
    if not isinstance(value, str) or not _ACCOUNT_ID.fullmatch(value):
        raise InvalidInputError(key, value, "a 12-digit AWS account ID as a string, e.g. '111122223333'")
    return value


def check_partition(value: Any, key: str = "partition") -> str:
    """Return ``value`` if it is one of the AWS partitions this policy supports."""
    if value not in PARTITIONS:
        raise InvalidInputError(key, value, "one of " + ", ".join(repr(p) for p in PARTITIONS))
    return value


def check_bool(value: Any, key: str) -> bool:
    """Return ``value`` if it is a real boolean (not a word or a number)."""
    if not isinstance(value, bool):
        raise InvalidInputError(key, value, "true or false")
    return value


def check_choices(value: Any, key: str, allowed: Sequence[str]) -> tuple[str, ...]:
    """Return ``value`` as a tuple in ``allowed``'s order, if it is a list of distinct known names."""
    rule = "a list of distinct names from " + ", ".join(repr(name) for name in allowed)
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Collection):
        raise InvalidInputError(key, value, rule)
    names = list(value)
    if any(name not in allowed for name in names) or len(set(names)) != len(names):
        raise InvalidInputError(key, value, rule)
    return tuple(name for name in allowed if name in names)


def check_positive_int(value: Any, key: str) -> int:
    """Return ``value`` as an ``int`` if it is a whole number greater than zero.

    A float with no fraction (``3600.0``) counts: other languages' numbers reach the component
    provider as floats, and the Pulumi SDK (3.272) does not always convert them back.
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInputError(key, value, "a whole number of seconds greater than 0")
    return value


# The longest an MFA session can last, so the largest max MFA age that means anything: AWS STS's
# GetSessionToken (the MFA session of an IAM user) accepts DurationSeconds "from 900 seconds (15
# minutes) to 129,600 seconds (36 hours)" (AWS STS API Reference, GetSessionToken); role sessions,
# the console's included, last at most 12 hours (IAM API Reference, CreateRole MaxSessionDuration).
# aws:MultiFactorAuthAge can never exceed it: a larger limit would limit nothing.
MAX_MFA_AGE_SECONDS = 129_600
MAX_MFA_AGE_RULE = (
    f"a whole number of seconds from 1 to {MAX_MFA_AGE_SECONDS} (36 hours, the longest MFA session AWS issues: "
    "GetSessionToken's maximum)"
)


def check_max_mfa_age(value: Any, key: str = "max_mfa_age_seconds", rule: str = MAX_MFA_AGE_RULE) -> int:
    """Return ``value`` as an ``int`` if it is a max MFA age AWS can have: 1 to 129,600 seconds.

    A float with no fraction counts, as in ``check_positive_int``. ``rule`` is what the message
    says is allowed (config adds "or 0 for no limit").
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_MFA_AGE_SECONDS:
        raise InvalidInputError(key, value, rule)
    return value


def check_iam_name(value: Any, key: str) -> str:
    """Return ``value`` if IAM accepts it as a group or policy name."""
    if not isinstance(value, str) or not _IAM_NAME.fullmatch(value):
        raise InvalidInputError(key, value, IAM_NAME_RULE)
    return value


def check_group_names(value: Any, key: str = "group_names") -> tuple[str, ...]:
    """Return ``value`` as a tuple if it is a non-empty list of distinct, valid IAM group names.

    IAM group names are case-insensitive, so ``Admins`` and ``admins`` count as duplicates.
    """
    rule = f"a non-empty list of distinct IAM group names ({IAM_NAME_RULE})"
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence) or not value:
        raise InvalidInputError(key, value, rule)
    for name in value:
        if not isinstance(name, str) or not _IAM_NAME.fullmatch(name):
            raise InvalidInputError(key, value, rule)
    folded = [name.lower() for name in value]
    if len(set(folded)) != len(folded):
        raise InvalidInputError(key, value, rule + "; names differing only in case are duplicates")
    return tuple(value)


def check_iam_path(value: Any, key: str = "path") -> str:
    """Return ``value`` if it is an IAM path: '/' or '/segments/' of printable ASCII, at most 512."""
    if not isinstance(value, str) or len(value) > _IAM_PATH_MAX or not _IAM_PATH.fullmatch(value):
        raise InvalidInputError(
            key,
            value,
            "an IAM path: '/' or one that starts and ends with '/' (e.g. '/security/'), "
            "printable ASCII without spaces, at most 512 characters",
        )
    return value


def check_description(value: Any, key: str = "description") -> str:
    """Return ``value`` if it fits an IAM policy description (at most 1,000 characters)."""
    if not isinstance(value, str) or len(value) > _DESCRIPTION_MAX:
        raise InvalidInputError(key, value, f"a string of at most {_DESCRIPTION_MAX} characters")
    return value


def check_tags(value: Any, key: str = "tags") -> dict[str, str]:
    """Return ``value`` as a dict if it is a valid IAM tag map (at most 50 string pairs)."""
    rule = (
        f"a mapping of at most {_TAGS_MAX} tags, keys of 1-{_TAG_KEY_MAX} characters not starting "
        f"with 'aws:', values of at most {_TAG_VALUE_MAX} characters"
    )
    if not isinstance(value, Mapping) or len(value) > _TAGS_MAX:
        raise InvalidInputError(key, value, rule)
    for tag_key, tag_value in value.items():
        if (
            not isinstance(tag_key, str)
            or not 1 <= len(tag_key) <= _TAG_KEY_MAX
            or tag_key.lower().startswith("aws:")
            or not isinstance(tag_value, str)
            or len(tag_value) > _TAG_VALUE_MAX
        ):
            raise InvalidInputError(key, value, rule)
    return dict(value)


# The devices users may enroll: every type, or FIDO2 security keys and passkeys only.
MFA_DEVICES = ("any", "security_keys")

# Security-key certifications and their levels for iam:FIDO-certification (FIDO Alliance levels)
# and iam:FIDO-FIPS-140-2-certification / iam:FIDO-FIPS-140-3-certification (FIPS 140 validation
# levels). IAM compares them with string operators, so the spelling must be exact. AWS's
# documentation (condition-key reference, GetMFADevice's Certifications map) names the keys but
# lists no values: these spellings are not verified against AWS (docs/security-keys.md says how to
# read a key's real values with `aws iam get-mfa-device`).
CERTIFICATION_LEVELS: dict[str, tuple[str, ...]] = {
    "fido": ("L1", "L1plus", "L2", "L2plus", "L3", "L3plus"),
    "fips-140-2": ("L1", "L2", "L3", "L4"),
    "fips-140-3": ("L1", "L2", "L3", "L4"),
}
CERTIFICATION_RULE = (
    "a non-empty mapping from a certification to a non-empty list of distinct accepted levels: "
    + "; ".join(f"{name!r} with levels from {', '.join(levels)}" for name, levels in CERTIFICATION_LEVELS.items())
)


def check_mfa_devices(value: Any, key: str = "mfa_devices") -> str:
    """Return ``value`` if it is ``any`` (every device type) or ``security_keys`` (FIDO2 only)."""
    if not isinstance(value, str) or value not in MFA_DEVICES:
        raise InvalidInputError(key, value, "one of " + ", ".join(repr(name) for name in MFA_DEVICES))
    return value


def check_security_key_certification(value: Any, key: str = "security_key_certification") -> dict[str, tuple[str, ...]]:
    """Return ``value`` as ``{certification: levels}`` in a fixed order, if every name and level is known.

    The order (certifications as in ``CERTIFICATION_LEVELS``, levels lowest first) makes the
    document the same whatever order the user wrote them in.
    """
    if not isinstance(value, Mapping) or not value:
        raise InvalidInputError(key, value, CERTIFICATION_RULE)
    for name, levels in value.items():
        allowed = CERTIFICATION_LEVELS.get(name) if isinstance(name, str) else None
        if (
            allowed is None
            or isinstance(levels, (str, bytes, Mapping))
            or not isinstance(levels, Collection)
            or not levels
            or any(not isinstance(level, str) or level not in allowed for level in levels)
            or len(set(levels)) != len(list(levels))
        ):
            raise InvalidInputError(key, value, CERTIFICATION_RULE)
    return {
        name: tuple(level for level in allowed if level in value[name])
        for name, allowed in CERTIFICATION_LEVELS.items()
        if name in value
    }


def check_certification_needs_security_keys(
    certification: Any, mfa_devices: str, key: str = "security_key_certification", devices_key: str = "mfa_devices"
) -> None:
    """A certification rule only makes sense when users may enroll security keys only."""
    if certification is not None and mfa_devices != "security_keys":
        raise InvalidInputError(key, certification, f"no value unless {devices_key} is 'security_keys'")
# AWS Organizations' documented patterns (Organizations API reference, AttachPolicy's TargetId).
_ROOT_ID = re.compile(r"r-[0-9a-z]{4,32}", re.ASCII)
_OU_ID = re.compile(r"ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}", re.ASCII)
CALL_AS = ("SELF", "DELEGATED_ADMIN")
TARGETS_RULE = (
    "a non-empty list of distinct organization targets: the root ('r-' and 4-32 lowercase letters "
    "or digits), OUs ('ou-', the root part, '-' and 8-32 lowercase letters or digits, e.g. "
    "'ou-ab12-cd34ef56') or member accounts (12 digits)"
)


def target_kind(target: str) -> str:
    """``root``, ``ou`` or ``account`` for a valid target ID (see ``check_targets``)."""
    if _ROOT_ID.fullmatch(target):
        return "root"
    if _OU_ID.fullmatch(target):
        return "ou"
    if _ACCOUNT_ID.fullmatch(target):
        return "account"
    raise InvalidInputError("targets", target, TARGETS_RULE)


def check_targets(value: Any, key: str = "targets") -> tuple[str, ...]:
    """Return ``value`` as a tuple if it is a non-empty list of distinct root, OU or account IDs."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence) or not value:
        raise InvalidInputError(key, value, TARGETS_RULE)
    for target in value:
        if not isinstance(target, str) or not (
            _ROOT_ID.fullmatch(target) or _OU_ID.fullmatch(target) or _ACCOUNT_ID.fullmatch(target)
        ):
            raise InvalidInputError(key, target, TARGETS_RULE)
    if len(set(value)) != len(value):
        duplicates = sorted({target for target in value if value.count(target) > 1})
        raise InvalidInputError(key, value, TARGETS_RULE + f"; {', '.join(duplicates)} appears more than once")
    return tuple(value)


def check_region(value: Any, key: str = "region") -> str:
    """Return ``value`` if it looks like an AWS region name, such as ``eu-west-1``."""
    if not isinstance(value, str) or partition_of_region(value) is None:
        raise InvalidInputError(
            key, value, "an AWS region name such as 'us-east-1' or 'eu-west-1', in one of AWS's partitions"
        )
    return value


def check_call_as(value: Any, key: str = "call_as") -> str:
    """Return ``value`` if it is a StackSet ``CallAs``: ``SELF`` or ``DELEGATED_ADMIN``."""
    if value not in CALL_AS:
        raise InvalidInputError(key, value, "'SELF' (the management account) or 'DELEGATED_ADMIN'")
    return value


_STACK_SET_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}", re.ASCII)


def check_stack_set_name(value: Any, key: str = "stack_set_name") -> str:
    """Return ``value`` if CloudFormation accepts it as a StackSet name."""
    if not isinstance(value, str) or not _STACK_SET_NAME.fullmatch(value):
        raise InvalidInputError(key, value, "1-128 letters, digits and hyphens, starting with a letter")
    return value


_SCP_NAME_MAX = 128


def check_scp_name(value: Any, key: str = "scp_name") -> str:
    """Return ``value`` if AWS Organizations accepts it as a policy name (1-128 printable characters)."""
    if not isinstance(value, str) or not 1 <= len(value) <= _SCP_NAME_MAX or not value.isprintable():
        raise InvalidInputError(key, value, f"1-{_SCP_NAME_MAX} printable characters")
    return value


def check_fields(value: Mapping[str, Any], key: str, fields: Sequence[str]) -> None:
    """An unknown field of a config or argument object is an error naming it (``key.field``), with
    the field it probably meant."""
    for field in value:
        if field not in fields:
            close = difflib.get_close_matches(str(field), list(fields), n=1) or [
                name for name in fields if name.lower() == str(field).lower()
            ]
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise InvalidInputError(f"{key}.{field}", value[field], f"a field of {key}{hint}: {', '.join(fields)}")
