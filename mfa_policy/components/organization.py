"""``OrganizationMfaGuardrail``: MFA for every IAM user of an AWS Organization, now and later.

Two layers, both AWS's own distributed machinery:

* a service control policy (SCP), evaluated by AWS on every request in every account under the
  targets, that denies IAM users everything but MFA enrollment until they sign in with MFA;
* a service-managed CloudFormation StackSet with automatic deployment that puts the same managed
  policy as ``RequireMfaPolicy`` (self-service allows and denies) into every account of the root
  and OU targets, attached to the given groups, including accounts that join later.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any, Never, NotRequired, Required, TypedDict

import pulumi
import pulumi_aws as aws

from mfa_policy.components.errors import PYTHON, ArgumentStyle, UserInputError, answered, current_style
from mfa_policy.components.require_mfa import (
    _CALLER_IDENTITY,
    _IAM_USER_ARN,
    _NO_ARGS,
    _PARTITION,
    DEFAULT_DESCRIPTION,
    DEFAULT_PATH,
    ENROLLMENT_SCHEMA_DOC,
    EnrollmentArgs,
    call_error,
    check_gates_fit,
    lockout_error,
    refuse_outputs,
)
from mfa_policy.components.schema_docs import SchemaDocs
from mfa_policy.policy.document import DOCUMENT_OPTIONS, check_document_options
from mfa_policy.policy.scp import build_scp_document, scp_json
from mfa_policy.policy.stackset_template import build_stackset_template
from mfa_policy.policy.validation import (
    PARTITIONS,
    InvalidInputError,
    check_bool,
    check_call_as,
    check_description,
    check_group_names,
    check_iam_name,
    check_iam_path,
    check_region,
    check_scp_name,
    check_stack_set_name,
    check_tags,
    check_targets,
    target_kind,
)

TYPE_TOKEN = "mfa-policy:index:OrganizationMfaGuardrail"
SCP_TYPE = "SERVICE_CONTROL_POLICY"
DEFAULT_SCP_DESCRIPTION = (
    "Denies IAM users everything but MFA enrollment until they sign in with MFA; roles, federated "
    "users and the root user are untouched (managed by mfa-policy)."
)
STACK_SET_DESCRIPTION = "The require-MFA managed policy in every account of the targeted OUs (managed by mfa-policy)."


class OrganizationMfaGuardrailArgs(TypedDict):
    """Arguments of :class:`OrganizationMfaGuardrail`. Only ``targets`` is required (and
    ``group_names`` while ``stack_set`` is on)."""

    targets: Required[Sequence[str]]
    """Where the SCP is attached: the root (``r-`` and 4-32 lowercase letters or digits), OUs
    (``ou-<root part>-<8-32 characters>``) or member accounts (12 digits); no duplicates. The
    StackSet deploys to the root and OU targets; account targets get the SCP only."""

    stack_set: NotRequired[bool]
    """Also deploy the require-MFA managed policy into every account of the root and OU targets
    with a service-managed StackSet (automatic deployment on). Default ``True``."""

    region: NotRequired[str]
    """The one region the StackSet's stack instances are created in (IAM is global). Default: the
    provider's region."""

    call_as: NotRequired[str]
    """``SELF`` when deploying from the management account, ``DELEGATED_ADMIN`` from a delegated
    administrator account for StackSets. Default ``SELF``."""

    group_names: NotRequired[Sequence[str]]
    """IAM groups, in each member account, that the StackSet's policy is attached to: names (the
    same rules as ``RequireMfaPolicy``'s names), never ``aws.iam.Group`` resources, which live in the
    deploying account. Required while ``stack_set`` is on."""

    create_groups: NotRequired[bool]
    """Let the StackSet create the groups (at ``path``) in each account. Default ``False``: the
    groups must already exist in every account, or that account's stack instance fails."""

    allow_password_change_without_mfa: NotRequired[bool]
    """Let users change their own password without MFA (forced first sign-in), in the SCP and the
    managed policy. Default ``False``, as AWS recommends."""

    allow_list_users: NotRequired[bool]
    """Let users list users and account aliases without MFA, in the SCP and the managed policy.
    Default ``False``."""

    self_service: NotRequired[Sequence[str]]
    """Credentials users may manage on their own user, with MFA (the managed policy's allows):
    any of ``password``, ``access_keys``, ``signing_certificates``, ``ssh_public_keys``,
    ``service_specific_credentials``. Default: all five."""

    max_mfa_age_seconds: NotRequired[int]
    """When set, a session whose MFA sign-in is older than this many seconds counts as one without
    MFA, in the SCP and the managed policy: 1 to 129,600 (36 hours). Default: unset (no limit)."""

    mfa_devices: NotRequired[str]
    """Which MFA devices IAM users may enroll, in the SCP and the managed policy: ``any`` (default)
    or ``security_keys`` (FIDO2 security keys and passkeys only, as in ``RequireMfaPolicy``)."""

    security_key_certification: NotRequired[Mapping[str, Sequence[str]]]
    """Only with ``mfa_devices="security_keys"``: the certification levels a key must have when it
    is activated, by certification (``fido``, ``fips-140-2``, ``fips-140-3``), as in
    ``RequireMfaPolicy``. Default: any security key."""

    enrollment: NotRequired[EnrollmentArgs]
    """Close the enrollment window, in the SCP and the managed policy: without MFA, an IAM user may
    enroll an MFA device only while their own user carries a tag and/or from listed networks, as
    in ``RequireMfaPolicy``. Default: unset."""

    policy_name: NotRequired[str]
    """Name of the IAM managed policy the StackSet creates in each account. Default: the
    component's name."""

    path: NotRequired[str]
    """IAM path of that policy (and of created groups). Default ``/``."""

    description: NotRequired[str]
    """Description of that policy. Default: a sentence saying what it does."""

    scp_name: NotRequired[str]
    """Name of the service control policy. Default: the component's name."""

    scp_description: NotRequired[str]
    """Description of the service control policy. Default: a sentence saying what it does."""

    stack_set_name: NotRequired[str]
    """Name of the StackSet (letters, digits and hyphens, starting with a letter). Default: the
    component's name."""

    tags: NotRequired[Mapping[str, str]]
    """Tags for the SCP and the StackSet. Default: none."""

    allow_enforcing_deployer: NotRequired[bool]
    """With ``call_as="DELEGATED_ADMIN"``, proceed even when the deploying identity is an IAM user.
    Default ``False``: the component stops before creating anything, because the SCP may apply to
    that user's own account (a member account) and its long-term keys could do nothing next time."""


_KNOWN_ARGS = frozenset(OrganizationMfaGuardrailArgs.__annotations__)


_GROUP_NAMES_HERE = (
    "names of the groups in each member account, as strings: an aws.iam.Group resource of this program "
    "lives in the deploying account, not in the member accounts the StackSet reaches"
)


def _validated(args: Mapping[str, Any], name: str, style: ArgumentStyle = PYTHON) -> dict[str, Any]:
    """Check every argument against its rule and fill in the defaults."""
    unknown = sorted(set(args) - _KNOWN_ARGS)
    if unknown:
        raise InvalidInputError(
            unknown[0],
            args[unknown[0]],
            f"one of OrganizationMfaGuardrail's arguments: {', '.join(sorted(_KNOWN_ARGS))}",
        )
    if "targets" not in args:
        raise InvalidInputError("targets", None, "a value: the root, OUs or accounts to attach the SCP to (required)")
    refuse_outputs(args, skip=())
    groups = args.get("group_names")
    if isinstance(groups, Sequence) and any(isinstance(item, aws.iam.Group) for item in groups):
        raise InvalidInputError("group_names", groups, _GROUP_NAMES_HERE)
    targets = check_targets(args["targets"], "targets")
    stack_set = check_bool(args.get("stack_set", True), "stack_set")
    region = args.get("region")
    settings: dict[str, Any] = {
        "targets": targets,
        "stack_set": stack_set,
        "region": None if region is None else check_region(region, "region"),
        "call_as": check_call_as(args.get("call_as", "SELF"), "call_as"),
        "create_groups": check_bool(args.get("create_groups", False), "create_groups"),
        **check_document_options(args),
        "policy_name": check_iam_name(args.get("policy_name", name), "policy_name"),
        "path": check_iam_path(args.get("path", DEFAULT_PATH), "path"),
        "description": check_description(args.get("description", DEFAULT_DESCRIPTION), "description"),
        "scp_name": check_scp_name(args.get("scp_name", name), "scp_name"),
        "scp_description": check_description(args.get("scp_description", DEFAULT_SCP_DESCRIPTION), "scp_description"),
        "stack_set_name": check_stack_set_name(args.get("stack_set_name", name), "stack_set_name"),
        "tags": check_tags(args.get("tags", {}), "tags"),
        "allow_enforcing_deployer": check_bool(args.get("allow_enforcing_deployer", False), "allow_enforcing_deployer"),
        "group_names": None,
    }
    stack_set_targets = [target for target in targets if target_kind(target) != "account"]
    if stack_set:
        if "group_names" not in args:
            raise InvalidInputError(
                "group_names",
                None,
                f"the IAM groups the StackSet's policy is attached to (or {style.setting('stack_set', False)})",
            )
        if not stack_set_targets:
            raise InvalidInputError(
                "targets",
                list(targets),
                f"at least one root or OU target while {style.name('stack_set')} is on (a service-managed "
                f"StackSet deploys to OUs); or {style.setting('stack_set', False)} for the SCP alone",
            )
    if "group_names" in args:
        settings["group_names"] = check_group_names(args["group_names"], "group_names")
    settings["stack_set_targets"] = tuple(stack_set_targets)
    return settings


def check_delegated_admin_deployer(component: str, caller_arn: str, style: ArgumentStyle = PYTHON) -> None:
    """Raise ``DeployerLockoutError`` when an IAM user deploys as a delegated administrator.

    SCPs never apply to the management account (``call_as="SELF"``), but a delegated
    administrator is a member account, which the SCP may cover: an IAM user there, with long-term
    keys, could do nothing on the next run. Roles, federated users and the root user are untouched
    by the SCP and never blocked.
    """
    if _IAM_USER_ARN.fullmatch(caller_arn):
        raise lockout_error(
            f"OrganizationMfaGuardrail {component!r}: you are deploying as the IAM user {caller_arn} from a "
            "delegated administrator account, which the SCP may cover: with long-term access keys, every later "
            "`pulumi up` would be denied, so nothing was created or changed. Ways out: deploy as a role "
            "(roles are never affected); or deploy with an MFA session and confirm with "
            f"{style.setting('allow_enforcing_deployer', True)}; or set that to proceed knowingly.",
            style,
        )


class OrganizationMfaGuardrail(pulumi.ComponentResource):
    """An SCP and a StackSet that make MFA mandatory for every IAM user in an AWS Organization.

    Children (all with ``parent=self``): one ``aws.organizations.Policy`` of type
    ``SERVICE_CONTROL_POLICY`` named ``<name>-scp`` and one ``aws.organizations.PolicyAttachment``
    per target named ``<name>-<target ID>``; with ``stack_set``, an ``aws.cloudformation.StackSet``
    named ``<name>-stackset`` and one ``aws.cloudformation.StackSetInstance`` named
    ``<name>-stackset-instance`` targeting the root and OU targets. Deploy it from the management
    account (``call_as`` ``SELF``) or a delegated administrator (``DELEGATED_ADMIN``); SCPs never
    apply to the management account, so give it a ``RequireMfaPolicy`` too.
    """

    scp_id: pulumi.Output[str]
    """ID of the service control policy (``p-...``)."""
    scp_document: pulumi.Output[str]
    """The service control policy, minified as AWS receives it."""
    stack_set_name: pulumi.Output[str]
    """Name of the StackSet; empty when ``stack_set`` is off."""
    stack_set_template: pulumi.Output[str]
    """The StackSet's CloudFormation template as JSON; empty when ``stack_set`` is off."""

    def __init__(
        self,
        name: str,
        args: OrganizationMfaGuardrailArgs = _NO_ARGS,
        opts: pulumi.ResourceOptions | None = None,
        **keywords: Never,
    ) -> None:
        # Validate everything first: a bad argument registers nothing, not even the component.
        # Every mistake a user can make here is a one-line pulumi.RunError (UserInputError); a wrong
        # call (arguments as keywords, none, or not a mapping) too, as in RequireMfaPolicy.
        style = current_style()
        try:
            error = call_error("OrganizationMfaGuardrail", name, args, keywords)
            if error is not None:
                raise error
            settings = _validated(args, name, style)
            document_options = {
                key: settings[key] for key in DOCUMENT_OPTIONS if key in settings and settings[key] is not None
            }
            scp_options = {key: value for key, value in document_options.items() if key != "self_service"}
            build_scp_document("aws", **scp_options)  # the quota check, before anything is registered
            if "enrollment" in scp_options:
                # The gates grow with their input: check both quotas for the longest partition name.
                build_scp_document(max(PARTITIONS, key=len), **scp_options)
                check_gates_fit(document_options)
        except InvalidInputError as error:
            raise UserInputError.from_error(error) from None
        template = ""
        if settings["stack_set"]:
            template = json.dumps(
                build_stackset_template(
                    settings["group_names"],
                    create_groups=settings["create_groups"],
                    policy_name=settings["policy_name"],
                    path=settings["path"],
                    description=settings["description"],
                    **document_options,
                ),
                indent=2,
            )
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # The organization's partition, from the provider the component was given.
        invoke = pulumi.InvokeOutputOptions(parent=self, depends_on=opts.depends_on if opts else None)
        who = f"OrganizationMfaGuardrail {name!r}"  # names the component in an unanswered-invoke message
        partition = answered(aws.get_partition_output(opts=invoke).partition, who, _PARTITION, "partition")
        self.scp_document = partition.apply(lambda value: scp_json(build_scp_document(value, **scp_options)))
        tags = settings["tags"] or None

        # The SCP and the StackSet wait for the lockout check: if it fails, neither is created.
        scp_content: pulumi.Output[str] = self.scp_document
        template_body: pulumi.Input[str] = template
        if settings["call_as"] == "DELEGATED_ADMIN" and not settings["allow_enforcing_deployer"]:
            caller_arn = answered(aws.get_caller_identity_output(opts=invoke).arn, who, _CALLER_IDENTITY, "arn")
            def check(arn: str) -> bool:
                check_delegated_admin_deployer(name, arn, style)
                return True

            checked = caller_arn.apply(check)
            scp_content = pulumi.Output.all(self.scp_document, checked).apply(lambda values: values[0])
            template_body = checked.apply(lambda _: template)

        scp = aws.organizations.Policy(
            f"{name}-scp",
            name=settings["scp_name"],
            description=settings["scp_description"],
            type=SCP_TYPE,
            content=scp_content,
            tags=tags,
            opts=child,
        )

        attach_after: list[pulumi.Resource] = []
        self.stack_set_name = pulumi.Output.from_input("")
        if settings["stack_set"]:
            stack_set = aws.cloudformation.StackSet(
                f"{name}-stackset",
                name=settings["stack_set_name"],
                description=STACK_SET_DESCRIPTION,
                permission_model="SERVICE_MANAGED",
                auto_deployment=aws.cloudformation.StackSetAutoDeploymentArgs(
                    enabled=True, retain_stacks_on_account_removal=False
                ),
                capabilities=["CAPABILITY_NAMED_IAM"],
                call_as=settings["call_as"],
                template_body=template_body,
                tags=tags,
                opts=child,
            )
            instance = aws.cloudformation.StackSetInstance(
                f"{name}-stackset-instance",
                stack_set_name=stack_set.name,
                deployment_targets=aws.cloudformation.StackSetInstanceDeploymentTargetsArgs(
                    organizational_unit_ids=list(settings["stack_set_targets"])
                ),
                stack_set_instance_region=settings["region"],
                call_as=settings["call_as"],
                opts=child,
            )
            self.stack_set_name = stack_set.name
            # Self-service first: users can manage their MFA device before the SCP locks them down.
            attach_after = [instance]

        for target in settings["targets"]:
            aws.organizations.PolicyAttachment(
                f"{name}-{target}",
                policy_id=scp.id,
                target_id=target,
                opts=pulumi.ResourceOptions(parent=self, depends_on=attach_after),
            )

        self.scp_id = scp.id
        self.stack_set_template = pulumi.Output.from_input(template)
        self.register_outputs(
            {
                "scp_id": self.scp_id,
                "scp_document": self.scp_document,
                "stack_set_name": self.stack_set_name,
                "stack_set_template": self.stack_set_template,
            }
        )


# The provider's schema descriptions, for readers in every language (see schema_docs).
SCHEMA_DOCS = SchemaDocs(
    token=TYPE_TOKEN,
    description=(
        "A service control policy and a StackSet that make MFA mandatory for every IAM user in an AWS "
        "Organization, in the accounts that exist now and those created later.\n\n"
        "The SCP denies IAM users everything but enrolling their own MFA device until they sign in with "
        "MFA; roles, federated users and the root user are untouched. It is attached to each target. "
        "With `stackSet`, a service-managed StackSet with automatic deployment puts the require-MFA "
        "managed policy, attached to the given groups, into every account of the root and OU targets. "
        "Deploy it from the management account or a delegated administrator; SCPs never apply to the "
        "management account, so give it a `RequireMfaPolicy` too."
    ),
    inputs={
        "targets": (
            "Where the SCP is attached: the root (`r-` and 4-32 lowercase letters or digits), OUs (`ou-`, "
            "the root part, `-` and 8-32 lowercase letters or digits) or member accounts (12 digits). "
            "Required, non-empty, no duplicates."
        ),
        "stackSet": (
            "Also deploy the require-MFA managed policy into every account of the root and OU targets "
            "with a service-managed StackSet (automatic deployment on). Default: `true`."
        ),
        "region": "The one region the StackSet's stack instances are created in (IAM is global). Default: "
        "the provider's region.",
        "callAs": "`SELF` when deploying from the management account, `DELEGATED_ADMIN` from a delegated "
        "administrator account for StackSets. Default: `SELF`.",
        "groupNames": (
            "IAM groups, in each member account, that the StackSet's policy is attached to (names of 1-128 "
            "letters, digits and `+=,.@_-`). Required while `stackSet` is on."
        ),
        "createGroups": (
            "Let the StackSet create the groups in each account. Default: `false`: the groups must already "
            "exist in every account."
        ),
        "allowPasswordChangeWithoutMfa": (
            "Let users change their own password without MFA (forced first sign-in), in the SCP and the "
            "managed policy. Default: `false`, as AWS recommends."
        ),
        "allowListUsers": "Let users list users and account aliases without MFA, in the SCP and the managed "
        "policy. Default: `false`.",
        "selfService": (
            "Credentials users may manage on their own user, with MFA (the managed policy's allows): any of "
            "`password`, `access_keys`, `signing_certificates`, `ssh_public_keys`, "
            "`service_specific_credentials`. Default: all five."
        ),
        "maxMfaAgeSeconds": (
            "When set, a session whose MFA sign-in is older than this many seconds counts as one without "
            "MFA, in the SCP and the managed policy: 1 to 129,600 (36 hours, the longest MFA session AWS "
            "issues). Default: no limit."
        ),
        "mfaDevices": (
            "Which MFA devices IAM users may enroll, in the SCP and the managed policy: `any` (default) or "
            "`security_keys` (FIDO2 security keys and passkeys only)."
        ),
        "securityKeyCertification": (
            "Only with `mfaDevices: security_keys`: the certification levels a key must have when it is "
            "activated, by certification (`fido`, `fips-140-2`, `fips-140-3`). Default: any security key."
        ),
        "enrollment": ENROLLMENT_SCHEMA_DOC.replace(
            "Close the enrollment window:", "Close the enrollment window, in the SCP and the managed policy:"
        ),
        "policyName": "Name of the IAM managed policy the StackSet creates in each account. Default: the "
        "component's name.",
        "path": "IAM path of that policy (and of created groups). Default: `/`.",
        "description": "Description of that policy. Default: a sentence saying what it does.",
        "scpName": "Name of the service control policy. Default: the component's name.",
        "scpDescription": "Description of the service control policy. Default: a sentence saying what it does.",
        "stackSetName": "Name of the StackSet (letters, digits and hyphens, starting with a letter). Default: "
        "the component's name.",
        "tags": "Tags for the SCP and the StackSet. Default: none.",
        "allowEnforcingDeployer": (
            "With `callAs: DELEGATED_ADMIN`, proceed even when the deploying identity is an IAM user. Default: "
            "`false`: the component stops before creating anything, because the SCP may cover that user's "
            "own account and its long-term access keys could do nothing on the next deployment."
        ),
    },
    outputs={
        "scpId": "ID of the service control policy (`p-...`).",
        "scpDocument": "The service control policy, minified as AWS receives it.",
        "stackSetName": "Name of the StackSet; empty when `stackSet` is off.",
        "stackSetTemplate": "The StackSet's CloudFormation template as JSON; empty when `stackSet` is off.",
    },
    known_at_preview={
        "targets": "targets must be known at preview: write the root, OU and account IDs as plain strings",
        "groupNames": "group names must be known at preview: write them as plain strings, not as another "
        "resource's outputs",
    },
)
