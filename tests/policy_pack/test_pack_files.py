"""policy-pack/: what the Pulumi CLI reads (PulumiPolicy.yaml, requirements.txt, __main__.py)."""

from __future__ import annotations

import ast
import tomllib

import yaml

import mfa_policy
from conftest import ROOT

PACK = ROOT / "policy-pack"


def test_the_project_file_runs_python_from_the_packs_own_virtualenv() -> None:
    project = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    assert project["version"] == mfa_policy.__version__


def test_the_requirements_install_this_repository_with_the_policy_extra() -> None:
    lines = [line for line in (PACK / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert lines == ["-e ..[policy]"]
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "pulumi-policy>=1.21,<2" in extras["policy"] and "mfa-policy[verify]" in extras["policy"]


def test_main_only_builds_the_pack_from_the_packages_policies() -> None:
    tree = ast.parse((PACK / "__main__.py").read_text())
    statements = [node for node in tree.body if not isinstance(node, (ast.Import, ast.ImportFrom, ast.Expr))]
    assert statements == []  # no policy is defined here
    (call,) = [node.value for node in tree.body if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)]
    assert isinstance(call.func, ast.Name) and call.func.id == "PolicyPack"
    imported = {alias.name for node in tree.body if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert {"PolicyPack", "policies"} <= imported
