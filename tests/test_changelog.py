"""The version lives in one place; the changelog's newest release names it."""

from __future__ import annotations

import re

import mfa_policy
from conftest import ROOT


def test_the_newest_changelog_release_is_the_package_version():
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert releases, "CHANGELOG.md lists no release as '## [x.y.z] - YYYY-MM-DD'"
    assert releases[0] == mfa_policy.__version__


def test_no_other_file_spells_the_version():
    # pyproject.toml reads it from mfa_policy (dynamic); the provider imports it.
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert mfa_policy.__version__ not in pyproject
