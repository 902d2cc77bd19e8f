"""``RequireMfaPolicy``: the require-MFA policy as a Pulumi component resource."""

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Never, NotRequired, Required, TypedDict, cast

import pulumi
import pulumi_aws as aws

from mfa_policy.components.errors import PYTHON, ArgumentStyle, UserInputError, answered, current_style
from mfa_policy.components.schema_docs import SchemaDocs
from mfa_policy.policy.document import DOCUMENT_OPTIONS, build_policy_document, check_document_options
from mfa_policy.policy.validation import (
    IAM_NAME_RULE,
    PARTITIONS,
    InvalidInputError,
    check_account_id,
    check_bool,
    check_description,
    check_group_names,
    check_iam_name,
    check_iam_path,
    check_tags,
    contains_output,
)

TYPE_TOKEN = "mfa-policy:index:RequireMfaPolicy"
DEFAULT_PATH = "/"
DEFAULT_DESCRIPTION = (
    "Requires MFA for every action except enrolling and managing the user's own MFA device (managed by mfa-policy)."
)

if TYPE_CHECKING:
    # Python callers may pass aws.iam.Group resources too (see _group_entries).
    GroupNames = Sequence[str | aws.iam.Group]
else:
    # What the provider's schema offers other languages: names (a Union has no schema type).
    GroupNames = Sequence[str]


class EnrollmentTagArgs(TypedDict):
    """A tag on the user's own IAM user that lets them enroll an MFA device without MFA."""

    key: NotRequired[str]
    """Tag key: 1-128 letters, digits, spaces and `_ . : / = + - @`, not starting with `aws:`.
    Default: `mfa-enrollment`."""

    value: NotRequired[str]
    """Tag value, compared exactly (case too): 0-256 of the same characters. Default: `allowed`."""


class EnrollmentArgs(TypedDict):
    """What a user without MFA needs to enroll an MFA device: a tag, networks, or both (each one
    set must hold). With MFA nothing changes."""

    require_tag: NotRequired[EnrollmentTagArgs]
    """The tag the user's own IAM user must carry; an administrator sets it (with MFA) for the
    onboarding and removes it after. An empty object takes the defaults `mfa-enrollment` = `allowed`."""

    source_ips: NotRequired[Sequence[str]]
    """The networks the request must come from: up to 20 distinct IPv4 or IPv6 CIDRs with the host
    bits zero, e.g. `203.0.113.0/24`. A request through a VPC endpoint has no source IP: it is outside."""


class RequireMfaPolicyArgs(TypedDict):
    """Arguments of :class:`RequireMfaPolicy`. Only ``group_names`` is required."""

    group_names: Required[GroupNames]
    """IAM groups whose members must use MFA: names (1-128 characters of letters, digits and
    ``+=,.@_-`` each, no duplicates; IAM compares group names case-insensitively) or
    ``aws.iam.Group`` resources of the same program (children named after the resource's logical
    name, attached through its ``name`` output, not looked up for the lockout check)."""

    create_groups: NotRequired[bool]
    """Create the groups (at ``path``) before attaching the policy. Default ``False``: attach to
    groups that already exist."""

    account_id: NotRequired[str]
    """The 12-digit account the policy's ARNs name. Default: the caller's account, from
    ``aws.get_caller_identity`` through the component's provider."""

    allow_password_change_without_mfa: NotRequired[bool]
    """Let users change their own password without MFA (a forced first-sign-in password change
    happens before they can reach the MFA page). Default ``False``, as AWS recommends."""

    allow_list_users: NotRequired[bool]
    """Let users list users and account aliases without MFA, for console navigation. Default
    ``False``."""

    self_service: NotRequired[Sequence[str]]
    """Credentials users may manage on their own user, with MFA: any of ``password``,
    ``access_keys``, ``signing_certificates``, ``ssh_public_keys``,
    ``service_specific_credentials``. Default: all five."""

    max_mfa_age_seconds: NotRequired[int]
    """When set, a session whose MFA sign-in is older than this many seconds is treated as one
    without MFA: 1 to 129,600 (36 hours, the longest MFA session AWS issues). Default: unset (no
    limit)."""

    mfa_devices: NotRequired[str]
    """Which MFA devices users may enroll: ``any`` (default: every type) or ``security_keys``
    (FIDO2 security keys and passkeys only, with or without MFA: no authenticator app or hardware
    TOTP token, and no virtual-device actions in the bootstrap set). Security-key-only users
    cannot get MFA sessions for the CLI (``sts get-session-token`` needs a TOTP code)."""

    security_key_certification: NotRequired[Mapping[str, Sequence[str]]]
    """Only with ``mfa_devices="security_keys"``: the certification levels a key must have when it
    is activated, by certification: ``fido`` (``L1``, ``L1plus``, ``L2``, ``L2plus``, ``L3``,
    ``L3plus``), ``fips-140-2`` or ``fips-140-3`` (``L1``-``L4``), e.g. ``{"fido": ["L2", "L3"]}``.
    A key must meet every listed certification. Default: any security key."""

    enrollment: NotRequired[EnrollmentArgs]
    """Close the enrollment window: without MFA, a user may create, enable (and, with
    ``allow_password_change_without_mfa``, change their password for) an MFA device only while
    their own IAM user carries a tag (``{"require_tag": {"key": ..., "value": ...}}``, defaults
    ``mfa-enrollment`` and ``allowed``) and/or from listed networks (``{"source_ips": [CIDR, ...]}``).
    Default: unset (anyone holding a user's password or keys can enroll a device for them)."""

    policy_name: NotRequired[str]
    """Name of the IAM managed policy. Default: the component's name."""

    path: NotRequired[str]
    """IAM path of the policy (and of created groups). Default ``/``."""

    description: NotRequired[str]
    """Description of the IAM policy (at most 1,000 characters). Default: a sentence saying what
    the policy does."""

    tags: NotRequired[Mapping[str, str]]
    """Tags for the IAM policy. Default: none."""

    allow_enforcing_deployer: NotRequired[bool]
    """Proceed even when the deploying identity is an IAM user in one of the groups. Default
    ``False``: the component stops before creating anything, because long-term keys of an enforced
    user can do nothing on the next run."""


_KNOWN_ARGS = frozenset(RequireMfaPolicyArgs.__annotations__)


_GROUPS_RULE = (
    f"a non-empty list of distinct IAM group names ({IAM_NAME_RULE}) or aws.iam.Group resources"
)
# Over the provider there are names only (the group-resource form has no schema type).
_SCHEMA_GROUPS_RULE = f"a non-empty list of distinct IAM group names ({IAM_NAME_RULE})"
_NOT_AN_OUTPUT = (
    "; group names must be known at preview, so not an Output: pass the aws.iam.Group resource itself "
    "(group_names=[group], not group.name) or the name as a plain string"
)
_KNOWN_AT_PREVIEW = (
    "a plain value known at preview, not another resource's output: the component checks its arguments "
    "and builds the policy before anything is deployed"
)


def refuse_outputs(args: Mapping[str, Any], skip: tuple[str, ...] = ("group_names",)) -> None:
    """An argument holding an ``Output`` (other than ``skip``, which have their own message) is refused."""
    for key, value in args.items():
        if key not in skip and contains_output(value):
            raise InvalidInputError(key, value, _KNOWN_AT_PREVIEW)


def call_error(component: str, name: Any, args: Any, keywords: Mapping[str, Any]) -> InvalidInputError | None:
    """A call that does not pass the arguments as one mapping, said with how to call it (or None)."""
    example = f'{component}("{name}", {{"group_names": ["admins"]}})' if component == "RequireMfaPolicy" else (
        f'{component}("{name}", {{"targets": ["r-ab12"], "group_names": ["admins"]}})'
    )
    how = f"the arguments as one mapping, the second positional argument: {example}"
    if keywords:
        first = sorted(keywords)[0]
        given = ", ".join(sorted(keywords))
        return InvalidInputError(first, keywords[first], f"{how}; not keyword arguments ({given})")
    if args is _NO_ARGS or args is None:
        return InvalidInputError("args", None, how)
    if not isinstance(args, Mapping):
        return InvalidInputError("args", args, how)
    return None


_NO_ARGS: Any = object()  # `args` not given: refused with a message that says how to call


def _group_entries(value: Any, style: ArgumentStyle = PYTHON) -> list[tuple[str, str | aws.iam.Group]]:
    """``group_names`` as (child name key, name or Group resource) pairs, in the order given.

    A name is its own key; a Group resource's key is its logical name (known now, unlike its
    ``name`` output, and stable across runs). Outputs are refused: child names must be known.
    """
    key = "group_names"
    rule = _SCHEMA_GROUPS_RULE if style.provider else _GROUPS_RULE
    if isinstance(value, (pulumi.Output, pulumi.output.Unknown)):
        raise InvalidInputError(key, value, _GROUPS_RULE + _NOT_AN_OUTPUT)
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence) or not value:
        raise InvalidInputError(key, value, rule)
    entries: list[tuple[str, str | aws.iam.Group]] = []
    for item in value:
        if isinstance(item, aws.iam.Group):
            entries.append((item._name, item))  # Resource keeps its logical name in _name.
        elif isinstance(item, (pulumi.Output, pulumi.output.Unknown)):
            raise InvalidInputError(key, value, _GROUPS_RULE + _NOT_AN_OUTPUT)
        elif isinstance(item, str):
            entries.append((item, item))
        else:
            raise InvalidInputError(key, value, rule)
    names = [item for _, item in entries if isinstance(item, str)]
    if names:
        try:
            check_group_names(names, key)  # valid names, no duplicates (case-insensitive)
        except InvalidInputError as error:
            raise InvalidInputError(key, value, error.allowed.replace(_SCHEMA_GROUPS_RULE, rule)) from None
    keys = [entry_key for entry_key, _ in entries]
    if len(set(keys)) != len(keys):
        raise InvalidInputError(key, value, _GROUPS_RULE + "; a resource's logical name counts as its name here")
    return entries


def _validated(args: Mapping[str, Any], name: str, style: ArgumentStyle = PYTHON) -> dict[str, Any]:
    """Check every argument against its rule and fill in the defaults."""
    unknown = sorted(set(args) - _KNOWN_ARGS)
    if unknown:
        raise InvalidInputError(
            unknown[0], args[unknown[0]], f"one of RequireMfaPolicy's arguments: {', '.join(sorted(_KNOWN_ARGS))}"
        )
    if "group_names" not in args:
        raise InvalidInputError("group_names", None, "a value: the IAM groups whose members must use MFA (required)")
    refuse_outputs(args)
    account_id = args.get("account_id")
    groups = _group_entries(args["group_names"], style)
    settings = {
        "groups": groups,
        # The names to look up for the lockout check: groups the program creates have no members yet.
        "group_names": tuple(item for _, item in groups if isinstance(item, str)),
        "create_groups": check_bool(args.get("create_groups", False), "create_groups"),
        "account_id": None if account_id is None else check_account_id(account_id, "account_id"),
        **check_document_options(args),
        "policy_name": check_iam_name(args.get("policy_name", name), "policy_name"),
        "path": check_iam_path(args.get("path", DEFAULT_PATH), "path"),
        "description": check_description(args.get("description", DEFAULT_DESCRIPTION), "description"),
        "tags": check_tags(args.get("tags", {}), "tags"),
        "allow_enforcing_deployer": check_bool(args.get("allow_enforcing_deployer", False), "allow_enforcing_deployer"),
    }
    check_gates_fit({key: settings[key] for key in DOCUMENT_OPTIONS})
    return settings


def check_gates_fit(document_options: Mapping[str, Any]) -> None:
    """With the enrollment gates, raise ``InvalidInputError`` now if the document could exceed AWS's
    quota once the account and partition are known (a 12-digit account, the longest partition
    name), so that nothing is registered. Without them every option fits."""
    if document_options.get("enrollment") is not None:
        build_policy_document("000000000000", max(PARTITIONS, key=len), **document_options)


class DeployerLockoutError(pulumi.RunError):
    """The deploying IAM user is in a group the policy is about to enforce.

    A ``pulumi.RunError``: Pulumi prints its message as one line, without a traceback.
    """


def lockout_error(message: str, style: ArgumentStyle) -> Exception:
    """The lockout error for the caller: ``DeployerLockoutError``, or over the component provider an
    input error against ``allowEnforcingDeployer`` (the engine shows it as one clean line; any other
    exception from a provider arrives as ``Unexpected <class ...>``)."""
    if style.provider:
        from pulumi.errors import InputPropertyError

        return InputPropertyError(style.name("allow_enforcing_deployer"), message)
    return DeployerLockoutError(message)


_IAM_USER_ARN = re.compile(r"arn:[^:]+:iam::\d{12}:user/.+")


def check_deployer_not_enforced(
    component: str, caller_arn: str, members: Mapping[str, Sequence[str]], style: ArgumentStyle = PYTHON
) -> None:
    """Raise ``DeployerLockoutError`` when ``caller_arn`` is an IAM user in one of the groups.

    ``members`` maps each existing target group to its users' ARNs. Roles, assumed roles,
    federated users and the root user are never blocked: the policy applies only to group members.
    """
    if not _IAM_USER_ARN.fullmatch(caller_arn):
        return
    groups = [group for group, arns in members.items() if caller_arn in arns]
    if groups:
        raise lockout_error(
            f"RequireMfaPolicy {component!r}: you are deploying as the IAM user {caller_arn}, a member of "
            f"{', '.join(repr(g) for g in groups)}, which this policy makes require MFA. With long-term access "
            "keys, every later `pulumi up` would be denied, so the policy and its attachments were neither "
            "created nor changed. Ways out: deploy as a role "
            "(assumed roles are never blocked); or deploy with an MFA session (aws sts get-session-token "
            "--serial-number <your MFA device ARN> --token-code <code>), which this check cannot tell from "
            f"long-term keys, and confirm with {style.setting('allow_enforcing_deployer', True)}; or set that "
            "to proceed knowingly.",
            style,
        )


_CALLER_IDENTITY = "aws.get_caller_identity"
_PARTITION = "aws.get_partition"
_GET_GROUP = "aws.iam.get_group"



class RequireMfaPolicy(pulumi.ComponentResource):
    """An IAM managed policy that requires MFA, attached to IAM groups.

    Children: one ``aws.iam.Policy`` named ``<name>-policy``; per group, an
    ``aws.iam.GroupPolicyAttachment`` named ``<name>-<group>`` (and, with ``create_groups``, an
    ``aws.iam.Group`` of the same logical name). The account and partition come from invokes made
    with ``parent=self``, so a provider passed in ``opts`` decides both.
    """

    policy_arn: pulumi.Output[str]
    """ARN of the IAM policy."""
    policy_name: pulumi.Output[str]
    """Name of the IAM policy."""
    policy_document: pulumi.Output[str]
    """The policy document as a JSON string."""
    group_names: pulumi.Output[list[str]]
    """The groups the policy is attached to."""

    def __init__(
        self,
        name: str,
        args: RequireMfaPolicyArgs = _NO_ARGS,
        opts: pulumi.ResourceOptions | None = None,
        **keywords: Never,
    ) -> None:
        # Validate everything first: a bad argument registers nothing, not even the component.
        # `args` has a default and `**keywords` exist only to turn a wrong call into a one-line
        # RunError that says how to call; type checkers still refuse keywords (Never).
        style = current_style()
        try:
            error = call_error("RequireMfaPolicy", name, args, keywords)
            if error is not None:
                raise error
            settings = _validated(args, name, style)
        except InvalidInputError as error:
            raise UserInputError.from_error(error) from None
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        who = f"RequireMfaPolicy {name!r}"  # names the component in an unanswered-invoke message

        # Invokes wait for the caller's depends_on, so groups created elsewhere in the same program
        # exist before they are looked up.
        invoke = pulumi.InvokeOutputOptions(parent=self, depends_on=opts.depends_on if opts else None)
        partition = answered(aws.get_partition_output(opts=invoke).partition, who, _PARTITION, "partition")
        check_deployer = (
            not settings["allow_enforcing_deployer"] and not settings["create_groups"] and bool(settings["group_names"])
        )
        caller = None
        if settings["account_id"] is None or check_deployer:
            caller = aws.get_caller_identity_output(opts=invoke)
        account_id: pulumi.Input[str] = settings["account_id"] or answered(
            cast(pulumi.Output, caller).account_id, who, _CALLER_IDENTITY, "accountId"
        )

        document_options = {key: settings[key] for key in DOCUMENT_OPTIONS}
        self.policy_document = pulumi.Output.all(account_id, partition).apply(
            lambda values: json.dumps(build_policy_document(values[0], values[1], **document_options), indent=2)
        )

        # The policy and its attachments wait for the lockout check: if it fails, none is created.
        checked_document: pulumi.Output[str] = self.policy_document
        if check_deployer and caller is not None:
            members = {
                group: answered(
                    aws.iam.get_group_output(group_name=group, opts=invoke).users, who, _GET_GROUP, "users"
                ).apply(lambda users: [user.arn for user in users])
                for group in settings["group_names"]
            }

            def checked(values: list[Any]) -> str:
                check_deployer_not_enforced(name, values[1], values[2], style)
                return values[0]

            caller_arn = answered(caller.arn, who, _CALLER_IDENTITY, "arn")
            checked_document = pulumi.Output.all(self.policy_document, caller_arn, pulumi.Output.all(**members)).apply(
                checked
            )

        policy = aws.iam.Policy(
            f"{name}-policy",
            name=settings["policy_name"],
            path=settings["path"],
            description=settings["description"],
            policy=checked_document,
            tags=settings["tags"] or None,
            opts=child,
        )

        attached: list[pulumi.Output[str]] = []
        for key, entry in settings["groups"]:
            group: pulumi.Input[str]
            if isinstance(entry, aws.iam.Group):
                group = entry.name
            elif settings["create_groups"]:
                group = aws.iam.Group(f"{name}-{key}", name=entry, path=settings["path"], opts=child).name
            else:
                group = entry
            attachment = aws.iam.GroupPolicyAttachment(f"{name}-{key}", group=group, policy_arn=policy.arn, opts=child)
            attached.append(attachment.group)

        self.policy_arn = policy.arn
        self.policy_name = policy.name
        self.group_names = pulumi.Output.all(*attached)
        self.register_outputs(
            {
                "policy_arn": self.policy_arn,
                "policy_name": self.policy_name,
                "policy_document": self.policy_document,
                "group_names": self.group_names,
            }
        )


# The provider's schema (provider/): the same facts as the docstrings above, for readers in
# TypeScript, Go, C#, Java and YAML. A new argument needs its description here too.
ENROLLMENT_SCHEMA_DOC = (
    "Close the enrollment window: without MFA, a user may create and enable an MFA device (and, with "
    "`allowPasswordChangeWithoutMfa`, change their password) only while their own IAM user carries a tag "
    "(`requireTag: {key, value}`, defaults `mfa-enrollment` and `allowed`) and/or from listed networks "
    "(`sourceIps: [CIDR, ...]`, IPv4 or IPv6; a request through a VPC endpoint counts as outside). Each one "
    "set must hold. Default: unset (whoever holds a user's password or keys can enroll a device for them)."
)
SCHEMA_DOCS = SchemaDocs(
    token=TYPE_TOKEN,
    description=(
        "An IAM managed policy that requires MFA, attached to IAM groups. Members of the groups can do "
        "nothing without an MFA session except enroll and manage their own MFA device (and, if allowed, "
        "change their password and list users).\n\n"
        "Children: one `aws:iam/policy:Policy` and, per group, an "
        "`aws:iam/groupPolicyAttachment:GroupPolicyAttachment` (with `createGroups`, also an "
        "`aws:iam/group:Group`). The account and partition come from the AWS provider the component "
        "is given, so a provider for another account puts the policy there."
    ),
    inputs={
        "groupNames": (
            "IAM groups whose members must use MFA: names of 1-128 letters, digits and `+=,.@_-`, no "
            "duplicates (IAM compares group names case-insensitively). The names must be known at "
            "preview: write them as plain strings, not as another resource's outputs."
        ),
        "createGroups": (
            "Create the groups (at `path`) before attaching the policy. Default: `false`, attach to groups "
            "that already exist."
        ),
        "accountId": (
            "The 12-digit AWS account ID the policy's ARNs name. Default: the account of the deploying "
            "credentials, read through the component's AWS provider."
        ),
        "allowPasswordChangeWithoutMfa": (
            "Let users change their own password without MFA (a forced password change at first sign-in "
            "happens before they can reach the MFA page). Default: `false`, as AWS recommends."
        ),
        "allowListUsers": "Let users list users and account aliases without MFA, for console navigation. "
        "Default: `false`.",
        "selfService": (
            "Credentials users may manage on their own user, with MFA: any of `password`, `access_keys`, "
            "`signing_certificates`, `ssh_public_keys`, `service_specific_credentials`. Default: all five."
        ),
        "maxMfaAgeSeconds": (
            "When set, a session whose MFA sign-in is older than this many seconds counts as one without "
            "MFA: 1 to 129,600 (36 hours, the longest MFA session AWS issues). Default: no limit."
        ),
        "mfaDevices": (
            "Which MFA devices users may enroll: `any` (default: every type) or `security_keys` (FIDO2 "
            "security keys and passkeys only, with or without MFA: no authenticator app or hardware TOTP "
            "token). Users with security keys only cannot get MFA sessions for the AWS CLI, which need a "
            "TOTP code; they use roles instead."
        ),
        "securityKeyCertification": (
            "Only with `mfaDevices: security_keys`: the certification levels a key must have when it is "
            "activated, by certification: `fido` (`L1`, `L1plus`, `L2`, `L2plus`, `L3`, `L3plus`), "
            "`fips-140-2` or `fips-140-3` (`L1` to `L4`), for example `{\"fido\": [\"L2\", \"L3\"]}`. "
            "A key must meet every listed certification. Default: any security key."
        ),
        "enrollment": ENROLLMENT_SCHEMA_DOC,
        "policyName": "Name of the IAM managed policy. Default: the component's name.",
        "path": "IAM path of the policy (and of created groups). Default: `/`.",
        "description": (
            "Description of the IAM policy, at most 1,000 characters. Default: a sentence saying what the "
            "policy does."
        ),
        "tags": "Tags for the IAM policy. Default: none.",
        "allowEnforcingDeployer": (
            "Proceed even when the deploying identity is an IAM user in one of the groups. Default: "
            "`false`: the component stops before creating anything, because the long-term access keys of "
            "an enforced user can do nothing on the next deployment."
        ),
    },
    outputs={
        "policyArn": "ARN of the IAM policy.",
        "policyName": "Name of the IAM policy.",
        "policyDocument": "The policy document as a JSON string.",
        "groupNames": "The groups the policy is attached to.",
    },
    known_at_preview={
        "groupNames": "group names must be known at preview: write them as plain strings, not as another "
        "resource's outputs (name the group literally where you create it, and pass the same name)",
    },
)
