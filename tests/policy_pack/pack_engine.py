"""What the Pulumi engine sends a policy pack, made for tests.

``EngineResource`` is a resource as the engine describes it in an ``AnalyzerResource``: its
properties as the engine marshals them (``KeepUnknowns``: a value not known at preview is the
engine's unknown-string sentinel), its parent, provider, dependencies and property dependencies.
The engine sends a stack policy each resource's outputs (at preview: its inputs with computed
values unknown) and a component's registered outputs.

``record_program`` runs a Pulumi program under the SDK's mock engine (as ``up`` or as ``preview``)
and records its resources that way; ``stack_args``, ``resource_args`` and ``analyze_stack_request``
build the SDK's arguments and the gRPC request from them, the way pulumi-policy's analyzer
servicer builds ``StackValidationArgs`` (``deserialize_properties`` of the protobuf struct, then
``unknown_checking_proxy``; parents and dependencies linked by URN).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import proto
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from mfa_policy.program.preview import OfflineMocks, RecordingMonitor, run_program
from mfa_policy.program.project import stack_config

# The engine's unknown values, as it marshals them (sdk/go/common/resource/plugin: UnknownStringValue).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
PROJECT = "team"
STACK = "dev"
DEFAULT_PROVIDER = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:providers:aws::default_7_0_0"


@dataclass
class EngineResource:
    """One resource of an ``AnalyzeStackRequest``."""

    type: str
    name: str
    urn: str
    properties: dict[str, Any]
    parent: str = ""
    provider: str = ""  # the provider resource's URN
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)


def urn(type_: str, name: str, parent: EngineResource | None = None) -> str:
    qualified = f"{parent.urn.split('::')[2]}${type_}" if parent is not None else type_
    return f"urn:pulumi:{STACK}::{PROJECT}::{qualified}::{name}"


def resource(
    type_: str,
    name: str,
    properties: Mapping[str, Any],
    *,
    parent: EngineResource | None = None,
    provider: str = DEFAULT_PROVIDER,
    depends: Mapping[str, Sequence[EngineResource]] | None = None,
) -> EngineResource:
    """A custom resource as the engine sends it; ``depends`` maps a property to the resources it
    depends on (its ``propertyDependencies``)."""
    property_dependencies = {key: [r.urn for r in found] for key, found in (depends or {}).items()}
    return EngineResource(
        type=type_,
        name=name,
        urn=urn(type_, name, parent),
        properties=dict(properties),
        parent=parent.urn if parent is not None else "",
        provider=provider,
        dependencies=list(dict.fromkeys(u for urns in property_dependencies.values() for u in urns)),
        property_dependencies=property_dependencies,
    )


def default_providers(resources: Sequence[EngineResource]) -> dict[str, EngineResource]:
    """The provider resources the engine sends with each resource (the default AWS provider)."""
    return {
        DEFAULT_PROVIDER: EngineResource(
            "pulumi:providers:aws", "default_7_0_0", DEFAULT_PROVIDER, {"region": "us-east-1", "version": "7.0.0"}
        )
    }


def _struct(properties: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(properties))
    return struct


def _sdk_props(properties: Mapping[str, Any]) -> Any:
    # What the servicer does with a request's properties.
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(_struct(properties))))


def _options(parent: str) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent or None)


def _provider(
    engine_resource: EngineResource, providers: Mapping[str, EngineResource]
) -> PolicyProviderResource | None:
    found = providers.get(engine_resource.provider)
    if found is None:
        return None
    return PolicyProviderResource(found.type, _sdk_props(found.properties), found.urn, found.name)


def stack_args(
    resources: Sequence[EngineResource],
    config: Mapping[str, Any] | None = None,
    providers: Mapping[str, EngineResource] | None = None,
) -> StackValidationArgs:
    """``StackValidationArgs`` as pulumi-policy's ``AnalyzeStack`` builds them."""
    providers = default_providers(resources) if providers is None else providers
    built = {
        r.urn: PolicyResource(
            r.type, _sdk_props(r.properties), r.urn, r.name, _options(r.parent), _provider(r, providers), None, [], {}
        )
        for r in resources
    }
    for r in resources:
        policy_resource = built[r.urn]
        if r.parent in built:
            policy_resource.parent = built[r.parent]
        policy_resource.dependencies.extend(built[d] for d in r.dependencies if d in built)
        for key, urns in r.property_dependencies.items():
            policy_resource.property_dependencies[key] = [built[d] for d in urns if d in built]
    return StackValidationArgs(list(built.values()), dict(config) if config else None)


def resource_args(
    engine_resource: EngineResource,
    config: Mapping[str, Any] | None = None,
    providers: Mapping[str, EngineResource] | None = None,
) -> ResourceValidationArgs:
    """``ResourceValidationArgs`` as pulumi-policy's ``Analyze`` builds them."""
    providers = default_providers([engine_resource]) if providers is None else providers
    return ResourceValidationArgs(
        engine_resource.type,
        _sdk_props(engine_resource.properties),
        engine_resource.urn,
        engine_resource.name,
        _options(engine_resource.parent),
        _provider(engine_resource, providers),
        dict(config) if config else None,
    )


def _analyzer_resource(
    engine_resource: EngineResource, providers: Mapping[str, EngineResource]
) -> proto.AnalyzerResource:
    message = proto.AnalyzerResource(
        type=engine_resource.type,
        properties=_struct(engine_resource.properties),
        urn=engine_resource.urn,
        name=engine_resource.name,
        parent=engine_resource.parent,
        dependencies=engine_resource.dependencies,
        options=proto.AnalyzerResourceOptions(parent=engine_resource.parent),
    )
    found = providers.get(engine_resource.provider)
    if found is not None:
        message.provider.CopyFrom(
            proto.AnalyzerProviderResource(
                type=found.type, properties=_struct(found.properties), urn=found.urn, name=found.name
            )
        )
    for key, urns in engine_resource.property_dependencies.items():
        if urns:  # the engine leaves out properties without dependencies
            message.propertyDependencies[key].urns.extend(urns)
    return message


def analyze_stack_request(
    resources: Sequence[EngineResource], providers: Mapping[str, EngineResource] | None = None
) -> proto.AnalyzeStackRequest:
    providers = default_providers(resources) if providers is None else providers
    return proto.AnalyzeStackRequest(resources=[_analyzer_resource(r, providers) for r in resources])


def analyze_request(
    engine_resource: EngineResource, providers: Mapping[str, EngineResource] | None = None
) -> proto.AnalyzeRequest:
    stack_resource = _analyzer_resource(engine_resource, default_providers([]) if providers is None else providers)
    request = proto.AnalyzeRequest(
        type=stack_resource.type, properties=stack_resource.properties, urn=stack_resource.urn, name=stack_resource.name
    )
    request.options.CopyFrom(stack_resource.options)
    if stack_resource.HasField("provider"):
        request.provider.CopyFrom(stack_resource.provider)
    return request


# ---------------------------------------------------------------------------------------------
# Programs run under the mock engine


class EngineMocks(OfflineMocks):
    """The project's mocks; at preview, as the engine answers a create: no ID, unknown ARNs."""

    def __init__(self, account_id: str, *, preview: bool) -> None:
        super().__init__(account_id)
        self.preview = preview

    def new_resource(self, args: Any) -> tuple[str | None, dict]:
        if isinstance(args.inputs.get("name"), Unknown):  # computed from values not known yet
            self.created.append((args.typ, args.name))
            return "", {**args.inputs, "arn": UNKNOWN}
        resource_id, state = super().new_resource(args)
        if self.preview and not args.typ.startswith("pulumi:providers:"):
            for key in ("arn", "uniqueId", "policyId"):
                if key in state:
                    state[key] = UNKNOWN
            resource_id = ""
        return resource_id, state


class EngineRecorder(RecordingMonitor):
    """The project's recording monitor, also keeping what the engine hands a stack policy."""

    def __init__(self, mocks: OfflineMocks) -> None:
        super().__init__(mocks)
        self.engine_resources: list[EngineResource] = []
        self.providers: dict[str, EngineResource] = {}

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        provider = request.provider.rpartition("::")[0] if request.provider else ""
        if request.custom and not provider and not request.type.startswith("pulumi:providers:"):
            provider = DEFAULT_PROVIDER
        recorded = EngineResource(
            type=request.type,
            name=request.name,
            urn=response.urn,
            # A custom resource's outputs (the mocks' state); a component's come with its outputs.
            properties=json_format.MessageToDict(response.object) if request.custom else {},
            parent=request.parent,
            provider=provider,
            dependencies=list(request.dependencies),
            property_dependencies={key: list(value.urns) for key, value in request.propertyDependencies.items()},
        )
        if request.type.startswith("pulumi:providers:"):
            self.providers[response.urn] = recorded
        self.engine_resources.append(recorded)
        return response

    def RegisterResourceOutputs(self, request):
        for recorded in self.engine_resources:
            if recorded.urn == request.urn:
                recorded.properties = json_format.MessageToDict(request.outputs)
        return super().RegisterResourceOutputs(request)


def record_in_process(
    program: Path,
    *,
    stack: str = STACK,
    preview: bool = False,
    account_id: str = "111122223333",
    config: Mapping[str, str] | None = None,
) -> tuple[list[EngineResource], dict[str, EngineResource]]:
    """Run a Pulumi program (its folder's Pulumi.yaml and Pulumi.<stack>.yaml) under the mock
    engine, as ``pulumi up`` or ``pulumi preview``; return its resources as the engine sends them
    to a policy pack, and its provider resources (with the default AWS provider)."""
    project, stack_settings = (
        stack_config(program.parent, stack) if (program.parent / "Pulumi.yaml").exists() else (PROJECT, {})
    )
    mocks = EngineMocks(account_id, preview=preview)
    recorder = EngineRecorder(mocks)
    run_program(
        program,
        {**stack_settings, **(config or {})},
        mocks,
        project=project,
        stack=stack,
        preview=preview,
        monitor=recorder,
    )
    providers = {**default_providers([]), **recorder.providers}
    return recorder.engine_resources, providers


_RECORDED: dict[str, tuple[list[EngineResource], dict[str, EngineResource]]] = {}


def _key(program: Path, stack: str = STACK, preview: bool = False, config: Mapping[str, str] | None = None) -> str:
    arguments = {"program": str(program), "stack": stack, "preview": preview, "config": dict(config or {})}
    return json.dumps(arguments, sort_keys=True)


def record_programs(*runs: Mapping[str, Any]) -> None:
    """Record programs (``record_program``'s arguments, one mapping per run) in one fresh
    interpreter, which each later ``record_program`` with the same arguments reads from.

    The SDK's runtime settings live in context variables its worker threads read: with pulumi
    3.237, the lowest we allow, a worker thread another run's mocks had configured (as `up`) turned
    a preview's unknown values into None. A process of its own is a clean engine, as each real
    `pulumi preview` is.
    """
    missing = [key for key in dict.fromkeys(_key(**run) for run in runs) if key not in _RECORDED]
    # One interpreter for the `up` runs, one for the previews: runs in one process share worker
    # threads, so they must agree on whether this is a preview.
    for preview in (False, True):
        batch = [key for key in missing if json.loads(key)["preview"] is preview]
        if not batch:
            continue
        completed = subprocess.run(
            [sys.executable, "-c", _RECORD_SCRIPT, json.dumps(batch)],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"recording {batch} failed: {completed.stderr[-3000:]}")
        for key, (resources, providers) in zip(batch, json.loads(completed.stdout.splitlines()[-1]), strict=True):
            _RECORDED[key] = (
                [EngineResource(**found) for found in resources],
                {urn: EngineResource(**found) for urn, found in providers.items()},
            )


def record_program(
    program: Path, *, stack: str = STACK, preview: bool = False, config: Mapping[str, str] | None = None
) -> tuple[list[EngineResource], dict[str, EngineResource]]:
    """``record_in_process`` in a fresh interpreter (each run once per test session; a copy)."""
    record_programs({"program": program, "stack": stack, "preview": preview, "config": config})
    resources, providers = _RECORDED[_key(program, stack, preview, config)]
    return copy.deepcopy(resources), copy.deepcopy(providers)


_RECORD_SCRIPT = """
import dataclasses, json, sys
from pathlib import Path
sys.path[:0] = [str(Path.cwd()), str(Path.cwd().parent)]
from pack_engine import record_in_process
found = []
for key in json.loads(sys.argv[1]):
    arguments = json.loads(key)
    resources, providers = record_in_process(Path(arguments.pop("program")), **arguments)
    found.append([[dataclasses.asdict(r) for r in resources], {u: dataclasses.asdict(p) for u, p in providers.items()}])
print(json.dumps(found))
"""
