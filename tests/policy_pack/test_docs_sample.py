"""The sample output in docs/policy-pack.md ("The policies") is what the pack prints today: the
sample's stack (stacks.docs_sample_stack) is validated by the two policies the sample shows, each
violation composed as pulumi-policy composes it (the policy's description, a newline, the
message: ``pulumi_policy.policy``'s ``report_violation``; test_pack_grpc.py checks the same text
over gRPC), wrapped as the doc wraps it, and compared with the doc byte for byte.

``python tests/policy_pack/test_docs_sample.py`` prints the block to paste into the doc.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

if __name__ == "__main__":  # run as a script: the tests' folders hold conftest and the helpers
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here), str(here.parent)]

from pack_engine import resource_args, stack_args
from stacks import POLICIES, docs_sample_stack

from conftest import ROOT
from mfa_policy.policy_pack.policies import MFA_CONDITION, USERS_COVERED

PAGE = ROOT / "docs" / "policy-pack.md"
INTRO = "each message; output of the policies themselves, wrapped here):\n\n"
NEXT = "\n\n### Every IAM user is covered"
WIDTH = 104  # the doc's block: 4 spaces, then 6 for a wrapped line


def diagnostics() -> list[str]:
    """The sample's violations, as pulumi-policy composes each diagnostic's message."""
    resources, weak = docs_sample_stack()
    found: list[str] = []
    for name, args in ((USERS_COVERED, stack_args(resources)), (MFA_CONDITION, resource_args(weak))):
        policy = POLICIES[name]
        policy.validate(args, lambda message, urn=None, policy=policy: found.append(f"{policy.description}\n{message}"))
    return found


def wrapped(messages: list[str]) -> str:
    """The messages as the doc shows them: one paragraph each, every line wrapped at ``WIDTH``."""
    return "\n\n".join(
        "\n".join(
            textwrap.fill(line, WIDTH, initial_indent="    ", subsequent_indent="      ", break_on_hyphens=False,
                          break_long_words=False)
            for line in message.split("\n")
        )
        for message in messages
    )


def documented() -> str:
    text = PAGE.read_text()
    start = text.index(INTRO) + len(INTRO)
    return text[start : text.index(NEXT, start)]


def test_the_docs_sample_output_is_what_the_pack_prints():
    messages = diagnostics()
    assert len(messages) == 2 and "IAM user grace" in messages[0] and "developers-mfa" in messages[1]
    assert documented() == wrapped(messages), "regenerate: python tests/policy_pack/test_docs_sample.py"


if __name__ == "__main__":
    print(wrapped(diagnostics()))
