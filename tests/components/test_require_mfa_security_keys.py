"""RequireMfaPolicy with mfa_devices / security_key_certification, under Pulumi mocks."""

from __future__ import annotations

import json

import pulumi
import pytest

from mfa_policy import RequireMfaPolicy, build_policy_document
from mfa_policy.policy.validation import InvalidInputError

ACCOUNT = "111122223333"
POLICY = "aws:iam/policy:Policy"


@pulumi.runtime.test
def test_security_keys_only_reaches_the_policy_document(pulumi_mocks):
    component = RequireMfaPolicy(
        "require-mfa",
        {
            "group_names": ["admins"],
            "mfa_devices": "security_keys",
            "security_key_certification": {"fips-140-3": ["L3", "L2"]},
        },
    )

    def check(values):
        document = values[0]
        expected = build_policy_document(
            ACCOUNT, mfa_devices="security_keys", security_key_certification={"fips-140-3": ["L2", "L3"]}
        )
        assert json.loads(document) == expected
        (policy,) = pulumi_mocks.registered(POLICY)
        assert json.loads(policy.inputs["policy"]) == expected
        assert "DenyMfaEnrollmentExceptSecurityKeys" in document

    # The policy arn resolves once the policy is registered.
    return pulumi.Output.all(component.policy_document, component.policy_arn).apply(check)


@pulumi.runtime.test
def test_the_default_is_every_device_type(pulumi_mocks):
    component = RequireMfaPolicy("require-mfa", {"group_names": ["admins"]})

    def check(document):
        assert json.loads(document) == build_policy_document(ACCOUNT)
        assert "RegisterSecurityKey" not in document

    return component.policy_document.apply(check)


@pytest.mark.parametrize(
    ("arguments", "key"),
    [
        ({"mfa_devices": "yubikey"}, "mfa_devices"),
        ({"mfa_devices": ["security_keys"]}, "mfa_devices"),
        ({"security_key_certification": {"fido": ["L2"]}}, "security_key_certification"),
        ({"mfa_devices": "any", "security_key_certification": {"fido": ["L2"]}}, "security_key_certification"),
        (
            {"mfa_devices": "security_keys", "security_key_certification": {"fido": ["L9"]}},
            "security_key_certification",
        ),
        ({"mfa_devices": "security_keys", "security_key_certification": "fido=L2"}, "security_key_certification"),
    ],
)
def test_bad_device_arguments_register_nothing(pulumi_mocks, arguments, key):
    with pytest.raises(InvalidInputError) as raised:
        RequireMfaPolicy("require-mfa", {"group_names": ["admins"], **arguments})
    assert raised.value.key == key
    assert str(raised.value).startswith(f"{key}: got ")
    assert pulumi_mocks.mocks.created == []
    assert pulumi_mocks.mocks.calls == []
