"""One spelling of the output flags on every command: ``--format text|markdown|json``, ``--json``."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from mfa_policy.cli import build_parser, main
from mfa_policy.cli.common import OUTPUT_FORMATS

COMMANDS = ["preview", "verify", "explain", "audit"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_takes_every_format_and_json(command):
    parser = build_parser()
    for format_ in ("text", "markdown", "json"):
        assert format_ in OUTPUT_FORMATS[command]
        assert parser.parse_args([command, "--format", format_]).format == format_
    assert parser.parse_args([command, "--json"]).format == "json"


@pytest.mark.parametrize("command", COMMANDS)
def test_json_and_another_format_do_not_mix(command, capsys):
    with pytest.raises(SystemExit) as raised:
        build_parser().parse_args([command, "--json", "--format", "markdown"])
    assert raised.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [["verify"], ["explain"], ["preview", "--stack", "prod", "--cwd", str(ROOT)]],
    ids=["verify", "explain", "preview"],
)
def test_json_is_format_json(args, capsys):
    assert main([*args, "--json"]) == 0
    spelled_json = capsys.readouterr().out
    assert main([*args, "--format", "json"]) == 0
    assert capsys.readouterr().out == spelled_json
    json.loads(spelled_json)


def test_verify_json_says_pass_or_fail_overall(capsys):
    assert main(["verify", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pass"] is True and report["failedGuarantees"] == []
    assert main(["verify", "--policy-file", str(ROOT / "tests" / "data" / "aws-reference-policy.json"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["pass"] is False
    assert report["failedGuarantees"] == [name for name, g in report["guarantees"].items() if not g["pass"]]
    assert "G1" in report["failedGuarantees"]


def test_verify_markdown(capsys):
    assert (
        main(
            [
                "verify",
                "--policy-file",
                str(ROOT / "tests" / "data" / "aws-reference-policy.json"),
                "--format",
                "markdown",
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert out.startswith("# Verifying policy file ")
    assert "| G5 | no collateral damage | pass |" in out
    assert "| G1 | lockdown | **FAIL** (" in out
    assert "\n## G1 lockdown\n\n- `iam:EnableMFADevice" in out
    assert out.rstrip().endswith("guarantees fail.**")


def test_explain_text_is_aligned_columns_without_markdown(capsys):
    assert main(["explain", "--format", "text"]) == 0
    out = capsys.readouterr().out
    assert "|" not in out and "`" not in out and "\n#" not in out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("GROUP "))
    assert header.split()[:3] == ["GROUP", "ACTION", "KEYS"]
    row = next(line for line in lines if "iam:EnableMFADevice" in line)
    assert row.split() == ["bootstrap", "iam:EnableMFADevice", "allow", "deny", "allow", "deny", "allow", "deny"]
    assert row.index("iam:EnableMFADevice") == header.index("ACTION")


def test_explain_default_stays_markdown(capsys):
    assert main(["explain"]) == 0
    default = capsys.readouterr().out
    assert main(["explain", "--format", "markdown"]) == 0
    assert capsys.readouterr().out == default
    assert default.startswith("# What ")


def test_preview_markdown(capsys):
    assert main(["preview", "--stack", "prod", "--cwd", str(ROOT), "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Offline preview of stack `prod`")
    assert "| `aws:iam/policy:Policy` | require-mfa-policy | require-mfa |" in out
    document = out.split("```json\n", 1)[1].split("```", 1)[0]
    assert json.loads(document)["Version"] == "2012-10-17"
