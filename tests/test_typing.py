"""What type checkers see of the public API: the docs' Mocks subclass is clean under mypy --strict and
pyright --strict, and a misspelled component name imported from the package is an error (the
module's lazy ``__getattr__`` is hidden from them)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

PAGE = ROOT / "docs" / "using-the-component.md"
TYPO = (
    "from mfa_policy import OrganisationMfaGuardrail, RequireMFAPolicy, RequireMfaPolicy\n\nprint(RequireMfaPolicy)\n"
)


def mocks_subclass_example() -> str:
    section = PAGE.read_text().split("## Testing a program that uses it", 1)[1].split("\n## ", 1)[0]
    subclass = re.findall(r"```python\n(.*?)```", section, re.DOTALL)[1]
    return "from mfa_policy.testing import Mocks\n" + subclass


def mypy(path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    # Only the example's own lines are judged (as for an installed package); pulumi_aws is skipped,
    # or its 100,000 lines take minutes to read (the components' types from it become Any).
    config = path.parent / "mypy.ini"
    config.write_text("[mypy]\nfollow_imports = silent\n[mypy-pulumi_aws.*]\nfollow_imports = skip\n")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--config-file", str(config), *flags, str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def test_the_mocks_subclass_example_is_clean_under_mypy_strict(tmp_path):
    (tmp_path / "example.py").write_text(mocks_subclass_example())
    completed = mypy(tmp_path / "example.py", "--strict")
    assert completed.returncode == 0, completed.stdout


def test_mypy_refuses_a_misspelled_component_name(tmp_path):
    (tmp_path / "typo.py").write_text(TYPO)
    completed = mypy(tmp_path / "typo.py")
    assert completed.returncode == 1
    assert 'has no attribute "OrganisationMfaGuardrail"' in completed.stdout
    assert 'has no attribute "RequireMFAPolicy"' in completed.stdout
    assert 'RequireMfaPolicy"' not in completed.stdout.replace('maybe "RequireMfaPolicy"', "")


def pyright(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("pyright", path=str(Path(sys.executable).parent)) or shutil.which("pyright")
    if executable is None:
        pytest.skip("pyright is not installed (pip install pyright; it runs on Node.js)")
    (tmp_path / "pyrightconfig.json").write_text(json.dumps({"typeCheckingMode": "strict", "extraPaths": [str(ROOT)]}))
    (tmp_path / "checked.py").write_text(source)
    completed = subprocess.run(
        [executable, "--pythonpath", sys.executable, str(tmp_path / "checked.py")],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=600,
    )
    if "error" not in completed.stdout and completed.returncode not in (0, 1):
        pytest.skip(f"pyright could not run here: {completed.stdout[-300:]}{completed.stderr[-300:]}")
    return completed


def test_the_mocks_subclass_example_is_clean_under_pyright_strict(tmp_path):
    completed = pyright(tmp_path, mocks_subclass_example())
    assert completed.returncode == 0, completed.stdout


def test_pyright_refuses_a_misspelled_component_name(tmp_path):
    completed = pyright(tmp_path, TYPO)
    assert completed.returncode == 1
    assert '"OrganisationMfaGuardrail" is unknown import symbol' in completed.stdout
    assert '"RequireMFAPolicy" is unknown import symbol' in completed.stdout
