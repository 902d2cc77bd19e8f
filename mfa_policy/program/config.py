"""Reading and validating the program's stack config (pure: values come in as strings).

The Pulumi CLI hands a program every config value as a string: lists as JSON, booleans as
``true``/``false``, numbers as digits. ``read_settings`` parses those strings, checks each value
with the same rules as the component (so a message names the config key, such as
``mfa-policy:groups``) and returns the component's arguments. ``CONFIG_KEYS`` is the contract;
``Pulumi.yaml`` declares the same keys, types and defaults (a test keeps them equal).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mfa_policy.policy.document import DOCUMENT_OPTIONS, SELF_SERVICE_NAMES
from mfa_policy.policy.enrollment import enrollment_gates
from mfa_policy.policy.validation import (
    CERTIFICATION_RULE,
    MAX_MFA_AGE_RULE,
    PARTITIONS,
    InvalidInputError,
    check_account_id,
    check_bool,
    check_call_as,
    check_certification_needs_security_keys,
    check_choices,
    check_fields,
    check_group_names,
    check_iam_name,
    check_max_mfa_age,
    check_mfa_devices,
    check_region,
    check_security_key_certification,
    check_targets,
    target_kind,
)

NAMESPACE = "mfa-policy"
COMPONENT_NAME = "require-mfa"


@dataclass(frozen=True)
class ConfigKey:
    """One config key the program reads: its Pulumi.yaml type and default, and its parser."""

    name: str
    argument: str
    type: str
    default: Any
    parse: Callable[[str, str], Any]
    description: str

    @property
    def full_name(self) -> str:
        return f"{NAMESPACE}:{self.name}"


# YAML 1.2's spellings of a boolean, which the Pulumi CLI passes on as written.
_TRUE, _FALSE = ("true", "True", "TRUE"), ("false", "False", "FALSE")


def _parse_bool(raw: str, key: str) -> bool:
    if raw not in _TRUE + _FALSE:
        raise InvalidInputError(key, raw, "true or false")
    return raw in _TRUE


def _parse_json_list(raw: str, key: str, rule: str) -> Any:
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidInputError(key, raw, rule) from None
    if not isinstance(value, list):
        raise InvalidInputError(key, value, rule)
    return value


def _parse_groups(raw: str, key: str) -> tuple[str, ...]:
    return check_group_names(_parse_json_list(raw, key, "a list of IAM group names"), key)


def _parse_self_service(raw: str, key: str) -> tuple[str, ...]:
    value = _parse_json_list(raw, key, "a list of self-service names")
    return check_choices(value, key, SELF_SERVICE_NAMES)


_MAX_AGE_RULE = f"{MAX_MFA_AGE_RULE}, or 0 for no limit"


def _parse_max_age(raw: str, key: str) -> int | None:
    if not re.fullmatch(r"[0-9]+", raw):
        raise InvalidInputError(key, raw, _MAX_AGE_RULE)
    seconds = int(raw)
    return None if seconds == 0 else check_max_mfa_age(seconds, key, _MAX_AGE_RULE)


def _parse_account_id(raw: str, key: str) -> str | None:
    return None if raw == "" else check_account_id(raw, key)


CONFIG_KEYS: tuple[ConfigKey, ...] = (
    ConfigKey(
        "groups", "group_names", "array", None, _parse_groups, "IAM groups whose members must use MFA (required)."
    ),
    ConfigKey(
        "createGroups",
        "create_groups",
        "boolean",
        False,
        _parse_bool,
        "Create the groups instead of using existing ones.",
    ),
    ConfigKey(
        "allowPasswordChangeWithoutMfa",
        "allow_password_change_without_mfa",
        "boolean",
        False,
        _parse_bool,
        "Let users change their own password without MFA (first sign-in). AWS recommends against it.",
    ),
    ConfigKey(
        "allowListUsers",
        "allow_list_users",
        "boolean",
        False,
        _parse_bool,
        "Let users list users and account aliases without MFA.",
    ),
    ConfigKey(
        "selfService",
        "self_service",
        "array",
        list(SELF_SERVICE_NAMES),
        _parse_self_service,
        "Credentials users manage on their own user, with MFA.",
    ),
    ConfigKey(
        "maxMfaAgeSeconds",
        "max_mfa_age_seconds",
        "integer",
        0,
        _parse_max_age,
        "Treat MFA sessions older than this many seconds as without MFA; 0 means no limit.",
    ),
    ConfigKey(
        "mfaDevices",
        "mfa_devices",
        "string",
        "any",
        check_mfa_devices,
        "MFA devices users may enroll: any, or security_keys (FIDO2 security keys and passkeys only).",
    ),
    ConfigKey("policyName", "policy_name", "string", COMPONENT_NAME, check_iam_name, "Name of the IAM managed policy."),
    ConfigKey(
        "allowEnforcingDeployer",
        "allow_enforcing_deployer",
        "boolean",
        False,
        _parse_bool,
        "Proceed even when the deploying IAM user is in one of the groups (see the lockout check).",
    ),
    ConfigKey(
        "accountId",
        "account_id",
        "string",
        "",
        _parse_account_id,
        "Account the policy's ARNs name; empty means the deploying credentials' account.",
    ),
)


ACCOUNTS_KEY = f"{NAMESPACE}:accounts"
_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
_ROLE_ARN = re.compile(
    rf"arn:({'|'.join(re.escape(p) for p in PARTITIONS)}):iam::(\d{{12}}):role/[\w+=,.@/-]{{1,512}}", re.ASCII
)
_ACCOUNTS_RULE = (
    "a list of {name, roleArn, region?} entries: distinct names of letters, digits, - and _ "
    "(at most 63), an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>), an optional region such "
    "as eu-west-1, and distinct accounts"
)


@dataclass(frozen=True)
class AccountTarget:
    """One account the program enforces MFA in, reached by assuming a role."""

    name: str
    role_arn: str
    region: str | None = None

    @property
    def account_id(self) -> str:
        return self.role_arn.split(":")[4]


_ACCOUNT_FIELDS = {
    "name": "a name of letters, digits, - and _ (at most 63), starting with a letter or digit",
    "roleArn": "an IAM role ARN, arn:<partition>:iam::<12 digits>:role/<name>",
    "region": "an AWS region name such as eu-west-1",
}


def _account_entry(entry: Any, where: str) -> AccountTarget:
    """One entry of ``mfa-policy:accounts``; an error names the entry (``[1]``) and its field."""
    if not isinstance(entry, dict):
        raise InvalidInputError(where, entry, "an object {name, roleArn, region?}")
    _check_fields(entry, where, list(_ACCOUNT_FIELDS))
    for field, rule in _ACCOUNT_FIELDS.items():
        if field not in entry:
            if field == "region":
                continue
            raise InvalidInputError(f"{where}.{field}", None, f"a value: {rule}")
        if field == "region":
            check_region(entry[field], f"{where}.region")
            continue
        pattern = {"name": _ACCOUNT_NAME, "roleArn": _ROLE_ARN}[field]
        if not isinstance(entry[field], str) or not pattern.fullmatch(entry[field]):
            raise InvalidInputError(f"{where}.{field}", entry[field], rule)
    return AccountTarget(entry["name"], entry["roleArn"], entry.get("region"))


def _check_fields(value: Mapping[str, Any], where: str, fields: list[str]) -> None:
    """An unknown field of a config object is an error naming it, with the field it probably meant."""
    check_fields(value, where, fields)


def read_accounts(get: Callable[[str], str | None]) -> tuple[AccountTarget, ...]:
    """Read the optional ``mfa-policy:accounts`` list; empty when the key is unset.

    Raises ``InvalidInputError`` naming the key when the value breaks the rule.
    """
    raw = get("accounts")
    if raw is None:
        return ()
    value = _parse_json_list(raw, ACCOUNTS_KEY, _ACCOUNTS_RULE)
    if not value:
        raise InvalidInputError(ACCOUNTS_KEY, value, _ACCOUNTS_RULE)
    targets = []
    for index, entry in enumerate(value):
        targets.append(_account_entry(entry, f"{ACCOUNTS_KEY}[{index}]"))
        for field, seen in (("name", [t.name for t in targets]), ("roleArn", [t.account_id for t in targets])):
            if seen[-1] in seen[:-1]:
                what = "name" if field == "name" else "account (role ARNs of different accounts)"
                raise InvalidInputError(
                    f"{ACCOUNTS_KEY}[{index}].{field}",
                    entry[field],
                    f"a {what} no other entry has: entry {seen.index(seen[-1])} has {seen[-1]} already",
                )
    if get("accountId"):
        raise InvalidInputError(
            f"{NAMESPACE}:accountId", get("accountId"), "no value when mfa-policy:accounts is set (each role decides)"
        )
    return tuple(targets)


SECURITY_KEY_CERTIFICATION_KEY = f"{NAMESPACE}:securityKeyCertification"
MFA_DEVICES_KEY = f"{NAMESPACE}:mfaDevices"


def read_security_key_certification(
    get: Callable[[str], str | None], mfa_devices: str
) -> dict[str, tuple[str, ...]] | None:
    """Read the optional ``mfa-policy:securityKeyCertification`` object; None when the key is unset.

    Pulumi.yaml cannot type an object, so this is the only check it gets: a JSON object from a
    certification (``fido``, ``fips-140-2``, ``fips-140-3``) to its accepted levels, and only
    with ``mfa-policy:mfaDevices: security_keys``.
    """
    raw = get("securityKeyCertification")
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidInputError(SECURITY_KEY_CERTIFICATION_KEY, raw, CERTIFICATION_RULE) from None
    check_certification_needs_security_keys(value, mfa_devices, SECURITY_KEY_CERTIFICATION_KEY, MFA_DEVICES_KEY)
    return check_security_key_certification(value, SECURITY_KEY_CERTIFICATION_KEY)


def config_value_to_string(value: Any) -> str:
    """Render a YAML config value the way the Pulumi CLI passes it to a program."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def read_settings(get: Callable[[str], str | None]) -> dict[str, Any]:
    """Read every config key with ``get(name)`` and return the ``RequireMfaPolicy`` arguments.

    ``get`` is ``pulumi.Config("mfa-policy").get`` in the program. A missing key takes its
    documented default; ``groups`` has none. Raises ``InvalidInputError`` naming the full key
    (``mfa-policy:<name>``) for the first value that breaks its rule.
    """
    args: dict[str, Any] = {}
    for key in CONFIG_KEYS:
        raw = get(key.name)
        if raw is None:
            if key.default is None:
                raise InvalidInputError(key.full_name, None, f"a value: this key is required ({key.description})")
            raw = config_value_to_string(key.default)
        value = key.parse(raw, key.full_name)
        if value is not None:
            args[key.argument] = value
    certification = read_security_key_certification(get, args.get("mfa_devices", "any"))
    if certification is not None:
        args["security_key_certification"] = certification
    enrollment = read_enrollment(get)
    if enrollment is not None:
        args["enrollment"] = enrollment
    return args


ENROLLMENT_KEY = f"{NAMESPACE}:enrollment"


def read_enrollment(get: Callable[[str], str | None]) -> dict[str, Any] | None:
    """Read the optional ``mfa-policy:enrollment`` object; None when the key is unset.

    ``{requireTag: {key, value}}`` and/or ``{sourceIps: [CIDR, ...]}``, spelled as in YAML (and
    other languages); returns the component's ``enrollment`` argument (``require_tag``,
    ``source_ips``). Errors name the field: ``mfa-policy:enrollment.sourceIps``.
    """
    raw = get("enrollment")
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw  # not JSON: the rule's message says what is expected
    return enrollment_gates(value, ENROLLMENT_KEY, camel_case=True).as_option()


ORGANIZATION_KEY = f"{NAMESPACE}:organization"
ORGANIZATION_COMPONENT_NAME = f"{COMPONENT_NAME}-organization"
_ORGANIZATION_FIELDS = ("targets", "stackSet", "region", "callAs")
_ORGANIZATION_RULE = (
    "an object {targets: [...], stackSet: true|false, region?: <region>, callAs?: SELF|DELEGATED_ADMIN}; "
    "targets are the root (r-...), OUs (ou-...) or accounts (12 digits) the SCP is attached to"
)
# Settings of the per-account component that mean nothing to the organization guardrail.
_PER_ACCOUNT_ONLY = ("account_id",)


@dataclass(frozen=True)
class OrganizationSettings:
    """The ``mfa-policy:organization`` object, checked: where the guardrail applies and how."""

    targets: tuple[str, ...]
    stack_set: bool = True
    region: str | None = None
    call_as: str = "SELF"

    def guardrail_args(self, settings: dict[str, Any]) -> dict[str, Any]:
        """``OrganizationMfaGuardrail``'s arguments: these plus the groups and policy options."""
        args = {key: value for key, value in settings.items() if key not in _PER_ACCOUNT_ONLY}
        args.update(targets=self.targets, stack_set=self.stack_set, call_as=self.call_as)
        if self.region is not None:
            args["region"] = self.region
        return args


def read_organization(get: Callable[[str], str | None]) -> OrganizationSettings | None:
    """Read the optional ``mfa-policy:organization`` object; None when the key is unset.

    Raises ``InvalidInputError`` naming the key (or ``mfa-policy:organization.<field>``) when the
    value breaks its rule, and naming both keys when ``accounts`` or ``accountId`` is set too.
    """
    raw = get("organization")
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidInputError(ORGANIZATION_KEY, raw, _ORGANIZATION_RULE) from None
    if not isinstance(value, dict):
        raise InvalidInputError(ORGANIZATION_KEY, value, _ORGANIZATION_RULE)
    _check_fields(value, ORGANIZATION_KEY, list(_ORGANIZATION_FIELDS))
    if "targets" not in value:
        raise InvalidInputError(f"{ORGANIZATION_KEY}.targets", None, f"a value: {_ORGANIZATION_RULE}")
    for other in ("accounts", "accountId"):
        if get(other):
            raise InvalidInputError(
                ORGANIZATION_KEY,
                value,
                f"no {NAMESPACE}:{other} at the same time: {ORGANIZATION_KEY} covers every account under "
                f"its targets; remove one of {ORGANIZATION_KEY} and {NAMESPACE}:{other}",
            )
    targets = check_targets(value["targets"], f"{ORGANIZATION_KEY}.targets")
    stack_set = check_bool(value.get("stackSet", True), f"{ORGANIZATION_KEY}.stackSet")
    region = value.get("region")
    if region is not None:
        region = check_region(region, f"{ORGANIZATION_KEY}.region")
    call_as = check_call_as(value.get("callAs", "SELF"), f"{ORGANIZATION_KEY}.callAs")
    if stack_set and all(target_kind(target) == "account" for target in targets):
        raise InvalidInputError(
            f"{ORGANIZATION_KEY}.targets",
            list(targets),
            "at least one root (r-...) or OU (ou-...) target while stackSet is true: a service-managed "
            "StackSet deploys to OUs; or stackSet: false for the SCP alone",
        )
    return OrganizationSettings(targets, stack_set, region, call_as)


# Keys Pulumi.yaml cannot declare (objects): the program reads them itself.
OBJECT_KEYS = ("accounts", "securityKeyCertification", "organization", "enrollment")


def check_known_keys(config: Mapping[str, Any]) -> None:
    """Raise ``InvalidInputError`` for a key in this program's namespace that it does not read.

    ``config`` maps full keys (``mfa-policy:groups``) to values. Pulumi passes every
    ``mfa-policy:*`` value through, misspelled or not; without this check a stack with
    ``mfa-policy:createGroup: true`` would deploy with the default, silently.
    """
    known = [key.name for key in CONFIG_KEYS] + list(OBJECT_KEYS)
    for full_key in sorted(config):
        namespace, colon, name = full_key.partition(":")
        if not colon:
            # The Pulumi CLI refuses a key without a namespace; ours would otherwise be read as unset.
            hint = f" (did you mean {NAMESPACE}:{namespace}?)" if namespace in known else ""
            raise InvalidInputError(
                full_key, config[full_key], f"a key of the form <namespace>:<name>, as Pulumi requires{hint}"
            )
        if namespace != NAMESPACE and _looks_like_ours(namespace):
            close = [name] if name in known else difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {NAMESPACE}:{close[0]}?)" if close else ""
            raise InvalidInputError(
                full_key,
                config[full_key],
                f"the namespace {NAMESPACE!r}: {namespace!r} is not it, so this program would never read the "
                f"key{hint}",
            )
        if namespace != NAMESPACE or name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {NAMESPACE}:{close[0]}?)" if close else ""
        raise InvalidInputError(full_key, config[full_key], f"a key this program reads{hint}: {', '.join(known)}")


def _looks_like_ours(namespace: str) -> bool:
    """A namespace within two edits (a swap counts as one) of ``mfa-policy``, case aside."""
    return _edit_distance(namespace.lower(), NAMESPACE) <= 2


def _edit_distance(left: str, right: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps."""
    previous2: list[int] = []
    previous = list(range(len(right) + 1))
    for i, a in enumerate(left, 1):
        current = [i]
        for j, b in enumerate(right, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b))
            if i > 1 and j > 1 and a == right[j - 2] and left[i - 2] == b:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


@dataclass(frozen=True)
class ProgramConfig:
    """A stack's config, read and checked: what the program builds from it."""

    settings: dict[str, Any]
    """``RequireMfaPolicy``'s arguments (and the policy options of the organization guardrail)."""
    organization: OrganizationSettings | None
    accounts: tuple[AccountTarget, ...]

    def document_options(self) -> dict[str, Any]:
        """The ``build_policy_document`` options the stack sets."""
        return {key: self.settings[key] for key in DOCUMENT_OPTIONS if key in self.settings}


def read_program_config(get: Callable[[str], str | None], config: Mapping[str, Any]) -> ProgramConfig:
    """Read every key the program reads with ``get(name)``, after checking that ``config`` (every
    full key given to the program) holds no unknown key of this namespace.

    Raises ``InvalidInputError`` naming the first key that breaks its rule.
    """
    check_known_keys(config)
    settings = read_settings(get)
    organization = read_organization(get)
    accounts = read_accounts(get) if organization is None else ()
    return ProgramConfig(settings, organization, accounts)
