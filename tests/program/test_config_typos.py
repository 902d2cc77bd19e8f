"""Stack-file keys that look like ours but are not, and nested config errors that name the field."""

from __future__ import annotations

import pytest

from conftest import ROOT
from mfa_policy.cli import main
from mfa_policy.policy.validation import InvalidInputError
from mfa_policy.program.config import check_known_keys, read_program_config


def read(config: dict[str, str]):
    full = {"mfa-policy:groups": '["admins"]', **config}
    return read_program_config(lambda key: full.get(f"mfa-policy:{key}"), full)


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("mfa-polciy:createGroups", "mfa-policy:createGroups"),
        ("mfa_policy:maxMfaAgeSeconds", "mfa-policy:maxMfaAgeSeconds"),
        ("mfapolicy:groups", "mfa-policy:groups"),
        ("MFA-Policy:selfService", "mfa-policy:selfService"),
        ("mfa-polcy:createGroup", "mfa-policy:createGroups"),
        ("createGroups", "mfa-policy:createGroups"),
        ("maxMfaAgeSeconds", "mfa-policy:maxMfaAgeSeconds"),
    ],
)
def test_a_key_that_looks_like_ours_is_refused_with_a_suggestion(key, suggestion):
    with pytest.raises(InvalidInputError) as raised:
        check_known_keys({"mfa-policy:groups": '["a"]', key: "true"})
    assert raised.value.key == key
    assert f"(did you mean {suggestion}?)" in str(raised.value)


@pytest.mark.parametrize("key", ["aws:region", "pulumi:tags", "aws-native:region", "mfa-policy-pack:x", "team:owner"])
def test_other_namespaces_are_left_alone(key):
    check_known_keys({"mfa-policy:groups": '["a"]', key: "x"})


def test_a_bare_key_that_is_not_ours_is_refused_as_pulumi_refuses_it():
    with pytest.raises(InvalidInputError, match="<namespace>:<name>, as Pulumi requires"):
        check_known_keys({"owner": "me"})


@pytest.mark.parametrize(
    "line", ["mfa-polciy:createGroups: true", "mfa_policy:maxMfaAgeSeconds: 3600", "createGroups: true"]
)
def test_verify_and_preview_refuse_a_misspelled_namespace_in_a_stack_file(tmp_path, capsys, line):
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    (tmp_path / "Pulumi.t.yaml").write_text(f"config:\n  mfa-policy:groups: [a]\n  {line}\n")
    for command in ("verify", "preview"):
        assert main([command, "--stack", "t", "--cwd", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert line.split(":")[0] in err and "did you mean mfa-policy:" in err
        assert err.count("\n") == 1


def test_organization_names_the_unknown_field_and_suggests_the_right_one():
    with pytest.raises(InvalidInputError) as raised:
        read({"mfa-policy:organization": '{"targets": ["r-ab12"], "callas": "SELF"}'})
    assert raised.value.key == "mfa-policy:organization.callas"
    assert "(did you mean callAs?)" in str(raised.value)


def test_organization_without_targets_names_the_field():
    with pytest.raises(InvalidInputError) as raised:
        read({"mfa-policy:organization": '{"stackSet": false}'})
    assert raised.value.key == "mfa-policy:organization.targets"


@pytest.mark.parametrize(
    ("accounts", "key", "words"),
    [
        (
            '[{"name": "a", "roleArn": "arn:aws:iam::444455556666:role/x"}, {"name": "b", "roleArn": "x"}]',
            "mfa-policy:accounts[1].roleArn",
            "an IAM role ARN",
        ),
        ('[{"name": "a"}]', "mfa-policy:accounts[0].roleArn", "a value"),
        ('[{"name": "a", "rolearn": "x"}]', "mfa-policy:accounts[0].rolearn", "(did you mean roleArn?)"),
        ('["prod"]', "mfa-policy:accounts[0]", "an object"),
        (
            '[{"name": "a", "roleArn": "arn:aws:iam::444455556666:role/x", "region": "mars"}]',
            "mfa-policy:accounts[0].region",
            "region",
        ),
        (
            '[{"name": "a", "roleArn": "arn:aws:iam::444455556666:role/x"},'
            ' {"name": "a", "roleArn": "arn:aws:iam::777788889999:role/x"}]',
            "mfa-policy:accounts[1].name",
            "entry 0 has a already",
        ),
        (
            '[{"name": "a", "roleArn": "arn:aws:iam::444455556666:role/x"},'
            ' {"name": "b", "roleArn": "arn:aws:iam::444455556666:role/y"}]',
            "mfa-policy:accounts[1].roleArn",
            "entry 0 has 444455556666 already",
        ),
    ],
)
def test_accounts_errors_name_the_entry_and_field(accounts, key, words):
    with pytest.raises(InvalidInputError) as raised:
        read({"mfa-policy:accounts": accounts})
    assert raised.value.key == key
    assert words in str(raised.value)
