"""The audit's reads of same-account resource policies (optional: a policy that cannot be read is
a note, ``UnreadPolicy``, never an error). With ``aws.py``, the only module that calls AWS.

Per kind, a list call and a read call (``RESOURCE_KINDS``, ``_LISTINGS``): S3 bucket policies
(listed once: bucket names are global), and per region KMS key policies, SQS queue and SNS topic
policies, Secrets Manager secret policies, Lambda function policies, ECR repository policies and
EFS file system policies. The regions are the session's by default, a list, or every region
``ec2:DescribeRegions`` lists (``all``). Calls go through ``aws.audit_client`` (retries, except
after a failed connection), in a few threads; boto3 is imported inside the functions.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mfa_policy.audit.aws import _ACCESS_DENIED, ALL_REGIONS, ResourcePolicy, UnreadPolicy

# Per kind: the policy's name in the report, what the list call lists, and the permissions.
RESOURCE_KINDS: dict[str, tuple[str, str]] = {
    "s3": ("bucket policy", "S3 buckets"),
    "kms": ("key policy", "KMS keys"),
    "sqs": ("queue policy", "SQS queues"),
    "sns": ("topic policy", "SNS topics"),
    "secretsmanager": ("resource policy", "Secrets Manager secrets"),
    "lambda": ("function policy", "Lambda functions"),
    "ecr": ("repository policy", "ECR repositories"),
    "efs": ("file system policy", "EFS file systems"),
}
# The IAM service prefix of a kind, where it is not the kind's own name (for permission names).
_IAM_PREFIX = {"efs": "elasticfilesystem"}
# Answers that mean "no policy" (or a resource deleted between the list and the read).
_NO_POLICY = {
    "NoSuchBucketPolicy",
    "NoSuchBucket",
    "NotFoundException",
    "ResourceNotFoundException",
    "RepositoryPolicyNotFoundException",
    "RepositoryNotFoundException",
    "PolicyNotFound",
    "FileSystemNotFound",
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
    "NotFound",
}
# IAM's action for an API operation, where the two names differ.
_PERMISSIONS = {("s3", "ListBuckets"): "s3:ListAllMyBuckets"}


def policy_label(kind: str, name: str) -> str:
    """How the report names a resource policy: ``the bucket policy of reports``."""
    return f"the {RESOURCE_KINDS[kind][0]} of {name}"


def _unread_reason(service: str, error: Exception) -> str:
    from botocore.exceptions import ClientError
    from botocore.parsers import ResponseParserError

    if isinstance(error, ResponseParserError):
        return "an answer botocore cannot parse"

    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        operation = error.operation_name
        prefix = _IAM_PREFIX.get(service, service)
        permission = _PERMISSIONS.get((service, operation), f"{prefix}:{operation}")
        if code in _ACCESS_DENIED:
            return f"{code}: the credentials lack {permission}"
        if code == "403":  # an answer botocore could not read, with HTTP's Forbidden
            return f"HTTP 403 in {operation}: the credentials may lack {permission}"
        message = error.response.get("Error", {}).get("Message", "")
        return " ".join(f"{code} in {operation}: {message}".split())
    return " ".join(str(error).split())


# A resource to read: its kind, name, ARN, region, and the call that returns its policy text.
_Fetch = tuple[str, str, str, str | None, Callable[[], str | None]]


def _policy_text(call: Callable[..., Any], path: tuple[str, ...], **params: Any) -> str | None:
    """The policy text at ``path`` in ``call(**params)``'s answer (None when it has none)."""
    answer = call(**params)
    for key in path:
        answer = answer.get(key) if isinstance(answer, Mapping) else None
    return answer if isinstance(answer, str) else None


def _pages(client: Any, operation: str, key: str) -> Iterable[Any]:
    for page in client.get_paginator(operation).paginate():
        yield from page.get(key, [])


def _list_s3(client: Any, region: str, account_id: str, partition: str) -> list[_Fetch]:
    # Bucket names are global: listed once, ARNs without region or account.
    found: list[_Fetch] = []
    answer = client.list_buckets()
    while True:
        for bucket in answer.get("Buckets", []):
            name = bucket["Name"]
            read = functools.partial(_policy_text, client.get_bucket_policy, ("Policy",), Bucket=name)
            found.append(("s3", name, f"arn:{partition}:s3:::{name}", None, read))
        token = answer.get("ContinuationToken")
        if not token:
            return found
        answer = client.list_buckets(ContinuationToken=token)


@dataclass(frozen=True)
class _Listing:
    """How to list one regional kind: the paginated call and its key, each item's name and ARN
    (``arn(item, region, account, partition)``), and the call (with its parameters) that returns
    the policy text at ``path`` in its answer."""

    operation: str
    key: str
    name: Callable[[Any], str]
    arn: Callable[[Any, str, str, str], str]
    read: str
    path: tuple[str, ...]
    params: Callable[[Any], dict[str, Any]]


def _queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


_LISTINGS: dict[str, _Listing] = {
    "kms": _Listing(
        "list_keys", "Keys", lambda key: key["KeyId"],
        lambda key, region, account, partition: key.get("KeyArn")
        or f"arn:{partition}:kms:{region}:{account}:key/{key['KeyId']}",
        "get_key_policy", ("Policy",), lambda key: {"KeyId": key["KeyId"], "PolicyName": "default"},
    ),
    "sqs": _Listing(
        "list_queues", "QueueUrls", _queue_name,
        lambda url, region, account, partition: f"arn:{partition}:sqs:{region}:{account}:{_queue_name(url)}",
        "get_queue_attributes", ("Attributes", "Policy"), lambda url: {"QueueUrl": url, "AttributeNames": ["Policy"]},
    ),
    "sns": _Listing(
        "list_topics", "Topics", lambda topic: topic["TopicArn"].rsplit(":", 1)[-1],
        lambda topic, *_: topic["TopicArn"],
        "get_topic_attributes", ("Attributes", "Policy"), lambda topic: {"TopicArn": topic["TopicArn"]},
    ),
    "secretsmanager": _Listing(
        "list_secrets", "SecretList", lambda secret: secret["Name"], lambda secret, *_: secret["ARN"],
        "get_resource_policy", ("ResourcePolicy",), lambda secret: {"SecretId": secret["ARN"]},
    ),
    "lambda": _Listing(
        "list_functions", "Functions", lambda function: function["FunctionName"],
        lambda function, *_: function["FunctionArn"],
        "get_policy", ("Policy",), lambda function: {"FunctionName": function["FunctionArn"]},
    ),
    "ecr": _Listing(
        "describe_repositories", "repositories", lambda repository: repository["repositoryName"],
        lambda repository, *_: repository["repositoryArn"],
        "get_repository_policy", ("policyText",), lambda repository: {"repositoryName": repository["repositoryName"]},
    ),
    "efs": _Listing(
        "describe_file_systems", "FileSystems", lambda system: system["FileSystemId"],
        lambda system, region, account, partition: system.get("FileSystemArn")
        or f"arn:{partition}:elasticfilesystem:{region}:{account}:file-system/{system['FileSystemId']}",
        "describe_file_system_policy", ("Policy",), lambda system: {"FileSystemId": system["FileSystemId"]},
    ),
}


def _lister(kind: str) -> Callable[[Any, str, str, str], list[_Fetch]]:
    """The list function of a regional kind: every resource, with the call that reads its policy."""
    listing = _LISTINGS[kind]

    def listed(client: Any, region: str, account_id: str, partition: str) -> list[_Fetch]:
        return [
            (kind, listing.name(item), listing.arn(item, region, account_id, partition), region,
             functools.partial(_policy_text, getattr(client, listing.read), listing.path, **listing.params(item)))
            for item in _pages(client, listing.operation, listing.key)
        ]

    return listed


# Per kind: the boto3 service name and its list function. S3 is listed once (bucket names are
# global); the others in every region read.
_LISTERS: dict[str, tuple[str, Callable[[Any, str, str, str], list[_Fetch]]]] = {
    "s3": ("s3", _list_s3),
    **{kind: (kind, _lister(kind)) for kind in _LISTINGS},
}


def _regions(
    client_for: Callable[[str, str], Any], home_region: str, regions: Sequence[str] | str | None
) -> tuple[tuple[str, ...], list[UnreadPolicy]]:
    """The regions to read: the session's by default; for ``all``, every region
    ``ec2:DescribeRegions`` lists (without ``AllRegions`` it lists the regions enabled for the
    account: opt-in regions that are not enabled are left out)."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    if regions is None:
        return (home_region,), []
    if regions == ALL_REGIONS or list(regions) == [ALL_REGIONS]:
        try:
            answer = client_for("ec2", home_region).describe_regions()
        except (BotoCoreError, ClientError, ResponseParserError) as error:
            reason = _unread_reason("ec2", error)
            return (home_region,), [UnreadPolicy(f"the list of regions (read {home_region} only)", reason)]
        return tuple(sorted(region["RegionName"] for region in answer.get("Regions", []))), []
    return tuple(regions), []


def read_resource_policies(
    client_for: Callable[[str, str], Any],
    *,
    account_id: str,
    partition: str,
    home_region: str,
    regions: Sequence[str] | str | None = None,
    workers: int = 4,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[tuple[ResourcePolicy, ...], tuple[UnreadPolicy, ...], tuple[str, ...]]:
    """Every same-account resource policy of the ``RESOURCE_KINDS`` in ``regions`` (S3 buckets in
    every region), what could not be read (one ``UnreadPolicy`` each, never an error), and the
    regions read. ``client_for(service, region)`` makes a client; ``progress(done, total)`` is
    called as policies are read."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    failures = (BotoCoreError, ClientError, ResponseParserError)

    chosen, unread = _regions(client_for, home_region, regions)
    lists = [("s3", home_region)] + [(kind, where) for where in chosen for kind in _LISTERS if kind != "s3"]
    # The clients are made here, one thread: a boto3 session is not thread-safe (clients are).
    clients: dict[tuple[str, str], Any] = {}
    for kind, where in lists:
        service = _LISTERS[kind][0]
        if (service, where) not in clients:
            try:
                clients[(service, where)] = client_for(service, where)
            except (*failures, ValueError) as error:  # ValueError: a region botocore refuses
                clients[(service, where)] = error

    def listed(item: tuple[str, str]) -> tuple[list[_Fetch], UnreadPolicy | None]:
        kind, where = item
        service, lister = _LISTERS[kind]
        place = "" if kind == "s3" else f" in {where}"
        client = clients[(service, where)]
        try:
            if isinstance(client, Exception):
                raise client
            return lister(client, where, account_id, partition), None
        except (*failures, ValueError) as error:
            return [], UnreadPolicy(f"the {RESOURCE_KINDS[kind][1]}{place}", _unread_reason(kind, error))

    def fetched(item: _Fetch) -> ResourcePolicy | UnreadPolicy | None:
        kind, name, arn, where, fetch = item
        try:
            text = fetch()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code", "") in _NO_POLICY:
                return None
            return UnreadPolicy(policy_label(kind, name), _unread_reason(kind, error))
        except failures as error:
            return UnreadPolicy(policy_label(kind, name), _unread_reason(kind, error))
        if not text:
            return None
        try:
            document = json.loads(text) if isinstance(text, str) else text
        except ValueError:
            return UnreadPolicy(policy_label(kind, name), "the policy is not valid JSON")
        return ResourcePolicy(kind, name, arn, where, document)

    found: list[ResourcePolicy] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        fetches: list[_Fetch] = []
        for items, refused in pool.map(listed, lists):
            fetches += items
            if refused is not None:
                unread.append(refused)
        for done, result in enumerate(pool.map(fetched, fetches), start=1):
            if isinstance(result, ResourcePolicy):
                found.append(result)
            elif isinstance(result, UnreadPolicy):
                unread.append(result)
            if progress is not None:
                progress(done, len(fetches))
    return tuple(found), tuple(unread), chosen
