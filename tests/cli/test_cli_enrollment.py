"""``verify`` and ``explain`` with --enrollment-tag and --enrollment-source-ips (G11)."""

from __future__ import annotations

import json

import pytest

from conftest import PASS_LINES, ROOT
from mfa_policy import build_policy_document
from mfa_policy.cli import build_parser, main

G11_PASS = "G11 enrollment needs the ticket ... pass"
GATES = {"require_tag": {"key": "onboarding", "value": "open"}, "source_ips": ["203.0.113.0/24", "2001:db8::/32"]}


def write(tmp_path, document) -> str:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_the_builders_defaults_with_the_gates(capsys):
    assert main(["verify", "--enrollment-tag", "--enrollment-source-ips", "203.0.113.0/24, 2001:db8::/32"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert '"require_tag":{"key":"mfa-enrollment","value":"allowed"}' in out[0]
    assert out[1:-1] == [*PASS_LINES[:-1], G11_PASS]  # no "vacuously" now
    assert out[-1] == "all guarantees hold"


def test_without_the_option_g11_passes_vacuously_and_says_so(capsys):
    assert main(["verify", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["guarantees"]["G11"] == {
        "title": "enrollment needs the ticket",
        "pass": True,
        "counterexamples": [],
        "note": "vacuously: the enrollment option is off",
    }
    assert "note" not in report["guarantees"]["G1"]


def test_a_policy_file_with_the_gates_passes_with_its_intent(tmp_path, capsys):
    path = write(tmp_path, build_policy_document("111122223333", enrollment=GATES))
    flags = ["--enrollment-tag", "onboarding=open", "--enrollment-source-ips", "2001:db8::/32,203.0.113.0/24"]
    assert main(["verify", "--policy-file", path, *flags]) == 0
    assert G11_PASS in capsys.readouterr().out.splitlines()


def test_a_policy_file_without_the_gates_fails_g11(tmp_path, capsys):
    path = write(tmp_path, build_policy_document("111122223333"))
    assert main(["verify", "--policy-file", path, "--enrollment-tag", "onboarding=open"]) == 1
    out = capsys.readouterr().out
    assert "G11 enrollment needs the ticket ... FAIL (" in out
    assert (
        "iam:EnableMFADevice on arn:aws:iam::111122223333:user/alice [keys, tag onboarding=revoked+totp, "
        "next to allow-all]: Allow, expected deny" in out
    )
    assert "G1 lockdown ... pass" in out  # the rest still holds


def test_a_policy_file_with_gates_the_flags_do_not_state_is_unproven(tmp_path, capsys):
    path = write(tmp_path, build_policy_document("111122223333", enrollment=GATES))
    assert main(["verify", "--policy-file", path]) == 1
    out = capsys.readouterr().out
    assert "G1 lockdown ... FAIL (2 counterexamples)" in out
    assert "state the networks: --enrollment-source-ips" in out


def test_the_organization_with_the_gates(capsys):
    assert main(["verify", "--organization", "--enrollment-source-ips", "203.0.113.0/24", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["guarantees"])[-2:] == ["G10", "G11"]
    assert all(guarantee["pass"] for guarantee in report["guarantees"].values())


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--enrollment-tag", "onboarding"], "--enrollment-tag: got 'onboarding'; expected KEY=VALUE"),
        (["--enrollment-tag", "aws:x=1"], "--enrollment-tag: got 'aws:x'; expected an IAM tag key"),
        (["--enrollment-tag", "k=a$b"], "--enrollment-tag: got 'a$b'; expected an IAM tag value"),
        (["--enrollment-source-ips", ""], "--enrollment-source-ips: got []; expected a non-empty list"),
        (["--enrollment-source-ips", "10.0.0.1/8"], "its network is '10.0.0.0/8'"),
        (["--enrollment-source-ips", "10.0.0.0/8,10.0.0.0/8"], "10.0.0.0/8 appears more than once"),
    ],
)
@pytest.mark.parametrize("command", ["verify", "explain"])
def test_bad_flags_exit_2(capsys, command, flags, message):
    assert main([command, *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_a_stack_decides_the_gates_itself(capsys):
    assert main(["verify", "--stack", "dev", "--cwd", str(ROOT), "--enrollment-tag"]) == 2
    assert "drop --enrollment-tag" in capsys.readouterr().err


def test_an_empty_tag_value(capsys):
    assert main(["verify", "--enrollment-tag", "onboarding=", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert '"value":""' in report["target"] and report["guarantees"]["G11"]["pass"]


def test_explain_shows_enrollment_with_and_without_the_ticket(capsys):
    assert main(["explain", "--enrollment-tag", "--enrollment-source-ips", "203.0.113.0/24"]) == 0
    out = capsys.readouterr().out
    assert (
        "Enrollment option: every request in the tables carries the ticket: tag mfa-enrollment=allowed, "
        "from 203.0.113.1 (inside); the last tables show enrollment with and without it." in out
    )
    beside = out.split("## Enrollment with and without the ticket, next to allow-all", 1)[1]
    assert "| request | action | keys / own | keys / other | console / own |" in beside
    assert (
        "| the ticket: tag mfa-enrollment=allowed, from 203.0.113.1 (inside) | `iam:EnableMFADevice` "
        "| allow | deny | allow | deny | allow | allow |" in beside
    )
    assert (
        "| no tag, from 203.0.113.1 (inside) | `iam:EnableMFADevice` | deny | deny | deny | deny | allow | allow |"
        in (beside)
    )
    assert "| tag mfa-enrollment=allowed, no source IP | `iam:GetUser` | allow | deny | allow | deny |" in beside


def test_explain_json_has_the_ticket_rows(capsys):
    assert main(["explain", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["ticket"] == {"alone": [], "next to allow-all": []}
    assert main(["explain", "--format", "json", "--enrollment-tag"]) == 0
    rows = json.loads(capsys.readouterr().out)["ticket"]["next to allow-all"]
    assert rows[0]["ticket"] is True and rows[0]["request"].startswith("the ticket: ")
    assert {row["ticket"] for row in rows} == {True, False}


def test_the_help_names_g11():
    parser = build_parser()
    help_text = " ".join(parser.format_help().split())
    assert "G1-G9 and G11; G10 with --organization" in help_text
    verify = next(a for a in parser._actions if a.dest == "command").choices["verify"].format_help()
    assert "--enrollment-tag [KEY=VALUE]" in verify and "--enrollment-source-ips CIDRS" in verify
