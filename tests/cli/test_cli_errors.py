"""Command-line mistakes end in one line and exit 2: preview's program errors, flags that would be
ignored, flags named once."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from conftest import ROOT
from mfa_policy.cli import audit as audit_cli
from mfa_policy.cli import main


def project(tmp_path, program: str | None):
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    shutil.copy(ROOT / "Pulumi.dev.yaml", tmp_path)
    if program is not None:
        (tmp_path / "__main__.py").write_text(program)
    return str(tmp_path)


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1, captured.err
    return captured.err


def test_preview_of_a_project_that_exports_no_policy_document(capsys):
    assert main(["preview", "--cwd", str(ROOT / "examples" / "python-consumer")]) == 2
    err = one_line_error(capsys)
    assert "exports no policyDocument" in err and "groupArn, mfaPolicyArn" in err


def test_preview_without_a_main_py(tmp_path, capsys):
    assert main(["preview", "--cwd", project(tmp_path, None)]) == 2
    assert f"no __main__.py in {tmp_path}" in one_line_error(capsys)


def test_preview_of_a_program_that_raises(tmp_path, capsys):
    assert main(["preview", "--cwd", project(tmp_path, "import json\n\nraise ValueError('boom\\nagain')\n")]) == 2
    err = one_line_error(capsys)
    assert "the program raised ValueError: boom again (" in err and "__main__.py, line 3)" in err


def test_preview_of_a_program_that_does_not_parse(tmp_path, capsys):
    assert main(["preview", "--cwd", project(tmp_path, "x = 1\ndef (\n")]) == 2
    err = one_line_error(capsys)
    assert "the program does not parse: invalid syntax" in err and "line 2)" in err


def test_an_argument_error_names_the_flag_once(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["preview", "--account-id", "12345"])
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert "argument --account-id: got '12345'; expected a 12-digit AWS account ID" in err
    assert err.count("--account-id:") == 1


@pytest.mark.parametrize("stack", ["org"])
def test_preview_refuses_an_account_id_the_stack_would_ignore(capsys, stack):
    assert main(["preview", "--stack", stack, "--cwd", str(ROOT), "--account-id", "111122223333"]) == 2
    assert "--account-id: stack 'org' sets mfa-policy:organization" in one_line_error(capsys)


def test_preview_refuses_an_account_id_for_a_stack_of_accounts(tmp_path, capsys):
    cwd = project(tmp_path, (ROOT / "__main__.py").read_text())
    (tmp_path / "Pulumi.many.yaml").write_text(
        "config:\n  mfa-policy:groups: [a]\n  mfa-policy:accounts:\n"
        "    - {name: prod, roleArn: 'arn:aws:iam::444455556666:role/deploy'}\n"
    )
    assert main(["preview", "--stack", "many", "--cwd", cwd, "--account-id", "111122223333"]) == 2
    assert "sets mfa-policy:accounts" in one_line_error(capsys)


def test_explain_help_does_not_promise_g10(capsys):
    with pytest.raises(SystemExit):
        main(["explain", "--help"])
    assert "G10" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    assert "G10" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["verify", "explain"])
def test_max_age_help_says_0_means_no_limit(capsys, command):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "0 for no limit" in " ".join(capsys.readouterr().out.split())


def test_audit_says_never_used_for_keys_never_used(capsys):
    from mfa_policy.audit.verdicts import LOCKED_OUT, AuditReport, UserVerdict

    def user(name, last_used):
        return UserVerdict(
            user=name, path="/", verdict=LOCKED_OUT, enforced=True, groups=("ci",), active_keys=1,
            keys_last_used=last_used,
        )

    report = AuditReport(
        account_id="123456789012",
        partition="aws",
        scenario="as the account stands",
        users=(user("bot", None), user("old", datetime(2026, 11, 28, tzinfo=UTC))),
        policy_sets=1,
        key_age_days=30,
    )
    audit_cli._print_text(report, 10)
    text = capsys.readouterr().out
    assert "1 (never used)" in text and "1 (used 2026-11-28)" in text and "used never" not in text
    audit_cli._print_markdown(report, 10)
    assert "| 1 (never used) |" in capsys.readouterr().out


def test_audit_cwd_without_stack_is_refused_before_any_aws_call(capsys):
    assert main(["audit", "--cwd", ".", "--endpoint-url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "--cwd names the project folder of --stack; without --stack it would be ignored" in err
    assert "cannot reach AWS" not in err
