"""The package as another project gets it: build the wheel, install it alone, run the example."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from conftest import ROOT
from mfa_policy.program.preview import run_program
from mfa_policy.program.project import stack_config
from mfa_policy.testing import Mocks

EXAMPLE = ROOT / "examples" / "python-consumer"

RUNNER = """
import json, sys
from pathlib import Path
import mfa_policy
from mfa_policy.program.preview import OfflineMocks, run_program
from mfa_policy.program.project import stack_config

example = Path(sys.argv[1])
project, config = stack_config(example, "dev")
run = run_program(example / "__main__.py", config, OfflineMocks("111122223333"), project=project, stack="dev")
print(json.dumps({
    "module": mfa_policy.__file__,
    "outputs": {key: value for key, value in run.outputs.items()},
    "resources": sorted([r.type, r.name] for r in run.resources),
}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "mfa_policy", source / "mfa_policy", ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", dist, source],
        check=False,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (built,) = dist.glob("mfa_policy-*.whl")
    return built


def test_the_wheel_holds_the_package_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/", 1)[0] for name in names}
    assert top_level == {"mfa_policy", wheel.name.split("-py3")[0].replace(".whl", "") + ".dist-info"}
    assert "mfa_policy/py.typed" in names
    assert "mfa_policy/components/require_mfa.py" in names
    assert not [name for name in names if name.startswith(("tests/", "examples/", "provider/", "benchmarks/"))]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("/METADATA"))).decode()
    assert "Name: mfa-policy" in metadata
    # Compared parsed: setuptools versions spell Requires-Dist differently (spaces, order).
    required = {
        str(Requirement(line.removeprefix("Requires-Dist:").strip()))
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {str(Requirement(spec)) for spec in project["dependencies"]}
    for extra, specs in project["optional-dependencies"].items():
        declared |= {str(Requirement(f'{spec}; extra == "{extra}"')) for spec in specs}
    assert required == declared
    # What users install (not the dev extra): no parliament, no policy-sentry, no setuptools pin.
    requirements = [
        line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and 'extra == "dev"' not in line
    ]
    assert not [
        line for line in requirements if any(name in line for name in ("parliament", "policy-sentry", "setuptools"))
    ]
    # Apache-2.0, like Pulumi and its AWS provider: the expression and the license text ship.
    assert "License-Expression: Apache-2.0" in metadata
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)


def test_the_example_runs_against_the_installed_wheel(wheel, tmp_path):
    site = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", site, wheel],
        check=False,
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr
    environment = {**os.environ, "PYTHONPATH": str(site)}
    completed = subprocess.run(
        [sys.executable, "-c", RUNNER, str(EXAMPLE)],
        cwd=tmp_path,  # not the source tree
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert Path(report["module"]).is_relative_to(site)  # the installed copy, not the source tree
    assert report["outputs"]["mfaPolicyArn"] == "arn:aws:iam::111122223333:policy/platform-require-mfa"
    assert ["aws:iam/groupPolicyAttachment:GroupPolicyAttachment", "platform-mfa-platform-admins"] in report[
        "resources"
    ]
    assert ["mfa-policy:index:RequireMfaPolicy", "platform-mfa"] in report["resources"]


def test_the_installed_wheel_renders_the_html_report(wheel, tmp_path):
    # The templates and the style sheet are package data: without them the report cannot render.
    names = set(zipfile.ZipFile(wheel).namelist())
    report = ROOT / "mfa_policy" / "report"
    shipped = [path for folder in ("templates", "static") for path in (report / folder).iterdir() if path.is_file()]
    assert shipped and {str(path.relative_to(ROOT)) for path in shipped} <= names
    site = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", site, wheel]
    subprocess.run(install, check=True)
    page = tmp_path / "explain.html"
    completed = subprocess.run(
        [sys.executable, "-m", "mfa_policy", "explain", "--format", "html", "-o", str(page)],
        cwd=tmp_path,  # not the source tree
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def _requirements(specs) -> dict[str, str]:
    """Distribution name (normalised) -> its requirement, for comparing spellings of one range."""
    parsed = [Requirement(spec) for spec in specs]
    return {req.name.lower().replace("_", "-"): str(req) for req in parsed}


def _import_name(distribution: str) -> str:
    return {"pyyaml": "yaml"}.get(distribution, distribution.replace("-", "_"))


def test_requirements_txt_is_the_packages_dependencies():
    # `pulumi up` installs requirements.txt alone: it must hold exactly the package's own dependencies.
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    listed = _requirements(line for line in lines if line.strip() and not line.startswith("#"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert listed == _requirements(project["dependencies"])


_LIST_IMPORTS = """
import ast, json, sys
found = []
for path in sys.argv[1:]:
    tree = ast.parse(open(path).read())
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        found += [[path, node.lineno, module, id(node) in top_level] for module in modules]
print(json.dumps(found))
"""


def test_every_import_is_a_declared_dependency():
    """Module-level imports need only the dependencies; imports inside functions may use an extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {_import_name(name) for name in _requirements(project["dependencies"])}
    extras = {
        _import_name(name) for specs in project["optional-dependencies"].values() for name in _requirements(specs)
    }
    sources = [*sorted((ROOT / "mfa_policy").rglob("*.py")), ROOT / "__main__.py"]
    # Parsed in a fresh interpreter: CPython 3.11.7's ast.parse can fail with "AST constructor
    # recursion depth mismatch" once an earlier test in the process hit a RecursionError (gh-106905).
    found = subprocess.run(
        [sys.executable, "-c", _LIST_IMPORTS, *map(str, sources)], capture_output=True, text=True, check=True
    )
    for path, lineno, module, top_level in json.loads(found.stdout):
        root = module.split(".")[0]
        if root in sys.stdlib_module_names or root == "mfa_policy":
            continue
        allowed = core if top_level else core | extras
        assert root in allowed, f"{Path(path).relative_to(ROOT)}:{lineno} imports {module}, not declared"


def test_the_example_protects_the_group_its_config_names():
    # adminGroup names the group the example creates; the policy must be attached to that group.
    project, config = stack_config(EXAMPLE, "dev")
    config = {**config, f"{project}:adminGroup": "security-admins"}
    run = run_program(EXAMPLE / "__main__.py", config, Mocks("111122223333"), project=project, stack="dev")
    (group,) = [r for r in run.resources if r.type == "aws:iam/group:Group"]
    (attachment,) = [r for r in run.resources if r.type == "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"]
    assert group.inputs["name"] == "security-admins"
    assert attachment.inputs["group"] == "security-admins"
