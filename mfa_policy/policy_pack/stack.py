"""A stack's IAM resources, as the Pulumi engine describes them, turned into the audit's snapshot (pure).

The policy pack sees what the engine sends a stack policy: every resource with its type, logical
name, URN, properties (after ``pulumi up``: the outputs; at preview: the inputs, with values not
known yet marked ``UNKNOWN``), parent, provider and the resources each property depends on. This
module links them the way IAM will: users to groups (``UserGroupMembership``, ``GroupMembership``),
policies to groups and users (``GroupPolicyAttachment``, ``UserPolicyAttachment``,
``PolicyAttachment``, inline ``GroupPolicy``/``UserPolicy``), with the exclusive resources
(``*Exclusive``, and ``PolicyAttachment``, which owns every attachment of its policy) removing
what they do not list. The result is one ``AccountSnapshot`` per AWS provider, in the shape the
audit reads from AWS, so that the same decision answers both.

What the stack cannot show leans against the user, never towards a false "enforced":

* every user also gets ``ALLOW_ALL`` (grants made outside this stack: the question is the one G1
  asks, whether MFA holds next to a policy that allows everything);
* a policy whose document is not in the stack (AWS managed, another stack's) or not known yet
  counts as allowing everything: its Allows cannot matter next to ``ALLOW_ALL``, its Denies are
  the only thing it could add, and they are not relied on;
* a reference not known at preview (an attachment's ``policyArn``, a membership's group) is
  followed to the one resource of the right type its property depends on; when that is not one
  resource, the link is left out and every user it may touch is marked ``unsure``: a user the
  snapshot does not show as enforced is then "could not decide", not "not covered" and never
  "covered". Leaving a link out can only leave out Allows and Denies; with ``ALLOW_ALL`` present,
  only a Deny could matter, so a user shown as enforced without it is enforced with it too.

Resources are grouped by provider: IAM names are per account, and a stack that deploys to several
accounts has one provider per account. Linking across providers by name could borrow another
account's enforcing group (a false pass); keeping them apart can at worst miss a link (a user
reported as not covered).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mfa_policy.audit.aws import AccessKey, AccountSnapshot, Credentials, Group, InlinePolicy, ManagedPolicy, User
from mfa_policy.program.project import partition_for_region
from mfa_policy.verifier.guarantees import ALLOW_ALL, TEST_ACCOUNT_ID, intent_for_file


class _Unknown:
    """A value the engine does not know yet (computed at ``pulumi up``)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()

USER = "aws:iam/user:User"
GROUP = "aws:iam/group:Group"
USER_GROUP_MEMBERSHIP = "aws:iam/userGroupMembership:UserGroupMembership"
GROUP_MEMBERSHIP = "aws:iam/groupMembership:GroupMembership"
POLICY = "aws:iam/policy:Policy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
GROUP_POLICY_ATTACHMENT = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"
USER_POLICY_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
GROUP_POLICY_ATTACHMENTS_EXCLUSIVE = "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive"
USER_POLICY_ATTACHMENTS_EXCLUSIVE = "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive"
GROUP_POLICIES_EXCLUSIVE = "aws:iam/groupPoliciesExclusive:GroupPoliciesExclusive"
USER_POLICIES_EXCLUSIVE = "aws:iam/userPoliciesExclusive:UserPoliciesExclusive"
ACCESS_KEY = "aws:iam/accessKey:AccessKey"
LOGIN_PROFILE = "aws:iam/userLoginProfile:UserLoginProfile"

# The resources whose `policy` property is an identity policy document.
DOCUMENT_TYPES = (POLICY, GROUP_POLICY, USER_POLICY, ROLE_POLICY)

# The credentials every user is judged with: a console password and an active access key.
SIGNS_IN_BOTH_WAYS = Credentials(password_enabled=True, access_keys=(AccessKey(active=True),))

# Labels of the stand-ins for what the stack cannot show (they name the policy in an example).
OUTSIDE_THE_STACK = "<policies granted outside this stack, assumed to allow everything>"


@dataclass(frozen=True)
class StackResource:
    """One resource as the engine describes it to a stack policy (plain data)."""

    type: str
    name: str  # the logical name in the program
    urn: str
    props: Mapping[str, Any]  # plain values; ``UNKNOWN`` where the engine sent an unknown value
    parent: str = ""  # the parent's URN
    provider: str = ""  # the provider resource's URN; "" for none (components)
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How messages name the resource: its logical name and type."""
        return f"{self.name} ({self.type})"


def is_unknown(value: Any) -> bool:
    """Whether ``value`` is, or contains, a value the engine does not know yet."""
    if value is UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(is_unknown(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_unknown(item) for item in value)
    return False


def parse_document(value: Any) -> Mapping[str, Any] | None:
    """A policy document from a ``policy`` property (a JSON string, or already an object);
    None when it is not known yet or not a JSON object."""
    if is_unknown(value):
        return None
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, Mapping) else None
    return None


def name_key(resource: StackResource) -> str:
    """A user's or group's IAM name; ``<logical name>`` while the name is not known."""
    name = resource.props.get("name")
    return name if isinstance(name, str) and name else f"<{resource.name}>"


@dataclass
class _Links:
    """Names a property refers to, and whether some of it could not be followed."""

    keys: list[str] = field(default_factory=list)
    unresolved: bool = False


@dataclass
class AccountModel:
    """What one AWS provider's resources say about IAM, and the snapshot built from it."""

    provider: str
    account_id: str
    partition: str
    users: dict[str, StackResource]  # IAM name (or <logical name>) -> the User resource
    user_groups: dict[str, list[str]]
    group_managed: dict[str, list[str]]  # group -> policy keys
    group_inline: dict[str, list[tuple[str, StackResource]]]  # group -> (inline name, GroupPolicy)
    user_managed: dict[str, list[str]]
    user_inline: dict[str, list[tuple[str, StackResource]]]
    policies: dict[str, ManagedPolicy]  # policy key (ARN, or URN before it exists) -> document
    policy_resources: dict[str, StackResource]  # policy key -> the Policy resource, for those in the stack
    # Why a user not shown as enforced may be so after all: per user, per group, for everyone.
    unsure_users: dict[str, list[str]] = field(default_factory=dict)
    unsure_groups: dict[str, list[str]] = field(default_factory=dict)
    unsure_everyone: list[str] = field(default_factory=list)

    def unsure(self, user: str) -> list[str]:
        """Why a verdict of "not enforced" for ``user`` may be wrong (empty: it is certain)."""
        reasons = list(self.unsure_users.get(user, ()))
        for group in self.user_groups.get(user, ()):
            reasons += self.unsure_groups.get(group, ())
        for key in self.user_managed.get(user, ()):
            reasons += self._unsure_policy(key)
        for group in self.user_groups.get(user, ()):
            for key in self.group_managed.get(group, ()):
                reasons += self._unsure_policy(key)
        return list(dict.fromkeys(reasons + self.unsure_everyone))

    def _unsure_policy(self, key: str) -> list[str]:
        resource = self.policy_resources.get(key)
        if resource is not None and is_unknown(resource.props.get("policy")):
            return [f"the document of {resource.label} is not known yet"]
        return []

    def snapshot(self) -> AccountSnapshot:
        """The account as the audit reads it: every user also holds ``ALLOW_ALL``."""
        groups = {
            name: Group(
                name=name,
                path="/",
                inline=tuple(_inline(label, resource) for label, resource in self.group_inline.get(name, ())),
                attached=tuple(dict.fromkeys(self.group_managed.get(name, ()))),
            )
            for name in self._group_names()
        }
        users = tuple(
            User(
                name=name,
                path=_path(resource),
                arn=f"arn:{self.partition}:iam::{self.account_id}:user{_path(resource)}{name}",
                user_id=f"AIDA{index:016d}",
                groups=tuple(dict.fromkeys(self.user_groups.get(name, ()))),
                inline=(
                    *(_inline(label, policy) for label, policy in self.user_inline.get(name, ())),
                    InlinePolicy(OUTSIDE_THE_STACK, ALLOW_ALL),
                ),
                attached=tuple(dict.fromkeys(self.user_managed.get(name, ()))),
                # Passwords and keys do not change whether MFA is enforced: a user is judged as
                # if it had both (examples then come with access keys first).
                credentials=SIGNS_IN_BOTH_WAYS,
            )
            for index, (name, resource) in enumerate(sorted(self.users.items()))
        )
        return AccountSnapshot(
            account_id=self.account_id,
            partition=self.partition,
            caller_arn="",
            users=users,
            groups=groups,
            policies=dict(self.policies),
        )

    def _group_names(self) -> list[str]:
        names = [group for groups in self.user_groups.values() for group in groups]
        names += list(self.group_managed) + list(self.group_inline)
        return list(dict.fromkeys(names))


def _path(resource: StackResource) -> str:
    path = resource.props.get("path")
    return path if isinstance(path, str) and path.startswith("/") and path.endswith("/") else "/"


def _inline(label: str, resource: StackResource) -> InlinePolicy:
    document = parse_document(resource.props.get("policy"))
    if document is None:
        return InlinePolicy(f"{label} (document not known: assumed to allow everything)", ALLOW_ALL)
    return InlinePolicy(label, document)


# The properties that hold a list of names or ARNs (the others hold one).
_LISTS = frozenset({"groups", "users", "roles", "policyArns", "policyNames"})


def _strings(value: Any, many: bool = True) -> tuple[list[str], int, bool]:
    """The known strings of a name (``many`` False) or list-of-names property, how many elements
    are unknown, and whether the whole list is unknown (its length too)."""
    if value is UNKNOWN:
        return ([], 0, True) if many else ([], 1, False)
    items = value if isinstance(value, (list, tuple)) else ([] if value is None else [value])
    known = [item for item in items if isinstance(item, str) and item]
    return known, sum(1 for item in items if item is UNKNOWN), False


class Resolver:
    """Follows name-valued properties to the resources they refer to."""

    def __init__(self, resources: Sequence[StackResource]) -> None:
        self.by_urn = {resource.urn: resource for resource in resources}

    def names(self, resource: StackResource, key: str, target_type: str) -> _Links:
        """The user or group names ``resource.props[key]`` refers to (a name or a list of names).

        An unknown element is taken to be the name of a resource of ``target_type`` that the
        property depends on: when the unknown elements and those resources (less the ones already
        named) are equally many, each is one of them; otherwise the property is unresolved.
        """
        known, unknown_count, whole = _strings(resource.props.get(key), key in _LISTS)
        links = _Links(list(known))
        if not unknown_count and not whole:
            return links
        candidates = [
            name_key(target)
            for urn in resource.property_dependencies.get(key, ())
            if (target := self.by_urn.get(urn)) is not None and target.type == target_type
        ]
        candidates = [name for name in dict.fromkeys(candidates) if name not in known]
        if not whole and len(candidates) == unknown_count:
            links.keys += candidates
        else:
            links.unresolved = True
        return links

    def policies(self, resource: StackResource, key: str, arns: Mapping[str, str]) -> _Links:
        """The policy keys ``resource.props[key]`` names (an ARN or a list of ARNs): the stack's
        Policy resource with that ARN, or the ARN itself for a policy outside the stack."""
        known, unknown_count, whole = _strings(resource.props.get(key), key in _LISTS)
        links = _Links([arns.get(arn, arn) for arn in known])
        if not unknown_count and not whole:
            return links
        candidates = [
            policy_key(target)
            for urn in resource.property_dependencies.get(key, ())
            if (target := self.by_urn.get(urn)) is not None and target.type == POLICY
        ]
        candidates = [name for name in dict.fromkeys(candidates) if name not in links.keys]
        if not whole and len(candidates) == unknown_count:
            links.keys += candidates
        else:
            links.unresolved = True
        return links


def policy_key(resource: StackResource) -> str:
    """A managed policy's key: its ARN once known, else its URN."""
    arn = resource.props.get("arn")
    return arn if isinstance(arn, str) and arn.startswith("arn:") else resource.urn


def _account(resources: Sequence[StackResource], provider: StackResource | None) -> tuple[str, str]:
    """The account and partition the documents' ARNs name (else the region's partition and a
    stand-in account): own-user ARNs in the snapshot then match the documents' patterns."""
    for resource in resources:
        if resource.type in DOCUMENT_TYPES:
            document = parse_document(resource.props.get("policy"))
            if document is not None:
                intent = intent_for_file(document)
                if intent.account_id != TEST_ACCOUNT_ID:
                    return intent.account_id, intent.partition
    region = provider.props.get("region") if provider is not None else None
    return TEST_ACCOUNT_ID, partition_for_region(region if isinstance(region, str) else None)


def build_accounts(
    resources: Sequence[StackResource], providers: Mapping[str, StackResource] | None = None
) -> list[AccountModel]:
    """One ``AccountModel`` per provider of the stack's IAM resources (in order of appearance).

    ``providers`` maps a provider URN to its resource (for the region, hence the partition).
    """
    by_provider: dict[str, list[StackResource]] = {}
    for resource in resources:
        if resource.type.startswith("aws:iam/"):
            by_provider.setdefault(resource.provider, []).append(resource)
    resolver = Resolver(resources)
    return [
        _build_account(provider, members, resolver, (providers or {}).get(provider))
        for provider, members in by_provider.items()
    ]


def _build_account(
    provider: str, resources: Sequence[StackResource], resolver: Resolver, provider_resource: StackResource | None
) -> AccountModel:
    account_id, partition = _account(resources, provider_resource)
    model = AccountModel(
        provider=provider,
        account_id=account_id,
        partition=partition,
        users={},
        user_groups={},
        group_managed={},
        group_inline={},
        user_managed={},
        user_inline={},
        policies={},
        policy_resources={},
    )
    of_type = _by_type(resources)
    for resource in of_type.get(USER, ()):
        model.users[name_key(resource)] = resource
    arns: dict[str, str] = {}
    for resource in of_type.get(POLICY, ()):
        key = policy_key(resource)
        arns[key] = key
        model.policy_resources[key] = resource
        document = parse_document(resource.props.get("policy"))
        if document is None:
            why = "not known yet" if is_unknown(resource.props.get("policy")) else "not a JSON object"
            model.policies[key] = ManagedPolicy(
                key, f"{resource.name} (document {why}: assumed to allow everything)", ALLOW_ALL
            )
        else:
            model.policies[key] = ManagedPolicy(key, resource.name, document)
    _memberships(model, of_type, resolver)
    _attachments(model, of_type, resolver, arns)
    _inline_policies(model, of_type, resolver)
    _exclusive(model, of_type, resolver, arns)
    # Policies named by ARN that the stack does not define: AWS managed, or another stack's.
    for key in {k for keys in (*model.group_managed.values(), *model.user_managed.values()) for k in keys}:
        if key not in model.policies:
            model.policies[key] = ManagedPolicy(
                key, f"{key} (outside this stack: assumed to allow everything)", ALLOW_ALL
            )
    return model


def _by_type(resources: Iterable[StackResource]) -> dict[str, list[StackResource]]:
    found: dict[str, list[StackResource]] = {}
    for resource in resources:
        found.setdefault(resource.type, []).append(resource)
    return found


def _memberships(model: AccountModel, of_type: Mapping[str, list[StackResource]], resolver: Resolver) -> None:
    for resource in of_type.get(USER_GROUP_MEMBERSHIP, ()):
        users = resolver.names(resource, "user", USER)
        groups = resolver.names(resource, "groups", GROUP)
        _join(model, resource, users, groups)
    for resource in of_type.get(GROUP_MEMBERSHIP, ()):
        users = resolver.names(resource, "users", USER)
        groups = resolver.names(resource, "group", GROUP)
        _join(model, resource, users, groups)


def _join(model: AccountModel, resource: StackResource, users: _Links, groups: _Links) -> None:
    if users.unresolved:
        model.unsure_everyone.append(f"{resource.label} adds a user not known yet to groups")
    for user in users.keys:
        model.user_groups.setdefault(user, []).extend(groups.keys)
        if groups.unresolved:
            model.unsure_users.setdefault(user, []).append(f"{resource.label} adds the user to groups not known yet")


def _attachments(
    model: AccountModel, of_type: Mapping[str, list[StackResource]], resolver: Resolver, arns: Mapping[str, str]
) -> None:
    for kind, owner_key, owner_type in (
        (GROUP_POLICY_ATTACHMENT, "group", GROUP),
        (USER_POLICY_ATTACHMENT, "user", USER),
    ):
        for resource in of_type.get(kind, ()):
            owners = resolver.names(resource, owner_key, owner_type)
            _attach(model, resource, owners, resolver.policies(resource, "policyArn", arns), owner_type == GROUP)
    # PolicyAttachment owns every attachment of its policy in the account: the policy is attached
    # to the groups and users it lists, and detached from any other (aws_iam_policy_attachment).
    for resource in of_type.get(POLICY_ATTACHMENT, ()):
        policies = resolver.policies(resource, "policyArn", arns)
        groups = resolver.names(resource, "groups", GROUP)
        users = resolver.names(resource, "users", USER)
        for key in policies.keys:
            for attached in (model.group_managed, model.user_managed):
                for owner in attached:
                    attached[owner] = [k for k in attached[owner] if k != key]
        _attach(model, resource, groups, policies, True)
        _attach(model, resource, users, policies, False)


def _attach(model: AccountModel, resource: StackResource, owners: _Links, policies: _Links, groups: bool) -> None:
    attached = model.group_managed if groups else model.user_managed
    unsure = model.unsure_groups if groups else model.unsure_users
    if owners.unresolved:
        model.unsure_everyone.append(
            f"{resource.label} attaches a policy to a {'group' if groups else 'user'} not known yet"
        )
    for owner in owners.keys:
        attached.setdefault(owner, []).extend(policies.keys)
        if policies.unresolved:
            unsure.setdefault(owner, []).append(f"{resource.label} attaches a policy not known yet")


def _inline_policies(model: AccountModel, of_type: Mapping[str, list[StackResource]], resolver: Resolver) -> None:
    for kind, key, target, inline, unsure in (
        (GROUP_POLICY, "group", GROUP, model.group_inline, model.unsure_groups),
        (USER_POLICY, "user", USER, model.user_inline, model.unsure_users),
    ):
        for resource in of_type.get(kind, ()):
            owners = resolver.names(resource, key, target)
            if owners.unresolved:
                model.unsure_everyone.append(f"{resource.label} is an inline policy of a {key} not known yet")
            for owner in owners.keys:
                inline.setdefault(owner, []).append((resource.name, resource))
                if is_unknown(resource.props.get("policy")):
                    unsure.setdefault(owner, []).append(f"the document of {resource.label} is not known yet")


def _exclusive(
    model: AccountModel, of_type: Mapping[str, list[StackResource]], resolver: Resolver, arns: Mapping[str, str]
) -> None:
    """The ``*Exclusive`` resources: what they do not list is removed from the group or user."""
    for kind, owner_key, target, attached, unsure in (
        (GROUP_POLICY_ATTACHMENTS_EXCLUSIVE, "groupName", GROUP, model.group_managed, model.unsure_groups),
        (USER_POLICY_ATTACHMENTS_EXCLUSIVE, "userName", USER, model.user_managed, model.unsure_users),
    ):
        for resource in of_type.get(kind, ()):
            owners = resolver.names(resource, owner_key, target)
            listed = resolver.policies(resource, "policyArns", arns)
            if owners.unresolved:
                model.unsure_everyone.append(
                    f"{resource.label} sets the policies of a {target.split(':')[-1].lower()} not known yet"
                )
            for owner in owners.keys:
                attached[owner] = list(listed.keys)
                if listed.unresolved:
                    unsure.setdefault(owner, []).append(f"{resource.label} lists policies not known yet")
    for kind, owner_key, target, inline, unsure in (
        (GROUP_POLICIES_EXCLUSIVE, "groupName", GROUP, model.group_inline, model.unsure_groups),
        (USER_POLICIES_EXCLUSIVE, "userName", USER, model.user_inline, model.unsure_users),
    ):
        for resource in of_type.get(kind, ()):
            owners = resolver.names(resource, owner_key, target)
            names, unknown_count, whole = _strings(resource.props.get("policyNames"))
            if owners.unresolved:
                model.unsure_everyone.append(
                    f"{resource.label} sets the inline policies of a {target.split(':')[-1].lower()} not known yet"
                )
            for owner in owners.keys:
                kept = []
                for label, policy in inline.get(owner, []):
                    name = policy.props.get("name")
                    if isinstance(name, str) and name in names:
                        kept.append((label, policy))
                    elif unknown_count or whole or not isinstance(name, str):
                        unsure.setdefault(owner, []).append(f"{resource.label} may remove inline policy {policy.label}")
                inline[owner] = kept
