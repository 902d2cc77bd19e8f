"""The one set of condition keys never in a direct call by an IAM user (``requests.ABSENT_KEYS``),
pinned with why each is there, and decided alike by the identity policies' request contexts and
the resource policies' ``resolve_absent_keys``.

Why each key: IAM User Guide, "AWS global condition context keys", the Availability of each key;
SNS's ``AWS:SourceOwner`` is ``aws:SourceAccount``'s older name (in every default topic policy);
``kms:ViaService`` is set only when a service calls AWS KMS on the user's behalf (AWS KMS
Developer Guide, "kms:ViaService"). A key is in the set only if no credentials of an IAM user,
with or without MFA, ever carry it: ``aws:MultiFactorAuthAge`` is set with MFA, so it is not.
"""

from __future__ import annotations

import pytest

from mfa_policy.audit.resource_policies import resolve_absent_keys
from mfa_policy.verifier.evaluation import Decision, PolicySet
from mfa_policy.verifier.requests import (
    ABSENT_KEYS,
    MFA_SCENARIO,
    NO_MFA_SCENARIOS,
    KeyModel,
    Principal,
    key_knowledge,
    relax_document,
    request_context,
)

WHY = {
    "aws:calledvia": "a service calling another with the principal's credentials (forward access sessions)",
    "aws:calledviafirst": "the same",
    "aws:calledvialast": "the same",
    "aws:principalservicename": "the principal is an AWS service",
    "aws:principalservicenameslist": "the principal is an AWS service",
    "aws:sourcearn": "a service calling another on behalf of a resource",
    "aws:sourceaccount": "the same",
    "aws:sourceorgid": "the same",
    "aws:sourceorgpaths": "the same",
    "aws:sourceowner": "SNS's older name of aws:SourceAccount (the default topic policy)",
    "kms:viaservice": "a service calling AWS KMS on the user's behalf (AWS managed keys' policies)",
    "aws:federatedprovider": "a federated role session",
    "aws:sourceidentity": "a role session with a source identity",
    "aws:assumedroot": "a root session a management account assumed",
    "aws:ec2instancesourcevpc": "an EC2 instance role's credentials",
    "aws:ec2instancesourceprivateipv4": "an EC2 instance role's credentials",
}
PRINCIPAL = Principal("111122223333", "aws", "nat", tags={"team": "x"}, organization_id="o-1",
                      organization_paths=("o-1/r-1/",))


def test_the_absent_keys_are_pinned_with_why():
    assert frozenset(WHY) == ABSENT_KEYS
    assert "aws:multifactorauthage" not in ABSENT_KEYS  # set with MFA: an MFA key, not an absent one


def test_no_request_of_a_user_carries_them_and_the_model_knows_them():
    for scenario in (*NO_MFA_SCENARIOS, MFA_SCENARIO):
        assert not ABSENT_KEYS & set(request_context(PRINCIPAL, scenario)), scenario.name
    assert all(key_knowledge(key, KeyModel()) == "known" for key in ABSENT_KEYS)
    assert key_knowledge("aws:MultiFactorAuthAge", KeyModel()) == "known"


@pytest.mark.parametrize("key", sorted(ABSENT_KEYS))
@pytest.mark.parametrize(("operator", "applies"), [("StringEquals", False), ("StringNotEquals", True),
                                                   ("Null", True)])
def test_identity_and_resource_policies_decide_them_as_absent(key, operator, applies):
    # Spelled as policies spell them (AWS:SourceOwner, kms:ViaService): keys are case insensitive.
    spelled = "AWS:SourceOwner" if key == "aws:sourceowner" else key
    value = "true" if operator == "Null" else "x"
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                 "Condition": {operator: {spelled: value}}}
    document = {"Version": "2012-10-17", "Statement": [statement]}
    # Identity policies: not relaxed (no note), and the context leaves the key out.
    relaxed, notes = relax_document(document, "p", KeyModel())
    assert relaxed == document and not notes
    for scenario in NO_MFA_SCENARIOS:
        decision = PolicySet([relaxed]).evaluate_normalized("s3:GetObject", "*", request_context(PRINCIPAL, scenario))
        assert (decision is Decision.ALLOW) == applies
    # Resource policies: decided up front, the same way.
    resolved = resolve_absent_keys([statement])
    assert resolved == ([{k: v for k, v in statement.items() if k != "Condition"}] if applies else [])
