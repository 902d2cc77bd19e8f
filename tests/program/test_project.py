"""Reading Pulumi.yaml and Pulumi.<stack>.yaml as the Pulumi CLI does."""

from __future__ import annotations

import pytest

from conftest import ROOT
from mfa_policy.program.project import ProjectError, stack_config

PROJECT = """\
name: demo
runtime: python
config:
  groups:
    type: array
    items:
      type: string
  enabled:
    type: boolean
    default: true
  plain: hello
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text(PROJECT)
    return tmp_path


def test_stack_values_override_defaults_and_render_as_strings(project):
    (project / "Pulumi.s.yaml").write_text("config:\n  demo:groups: [a, b]\n  demo:enabled: false\n  aws:region: x\n")
    name, config = stack_config(project, "s")
    assert name == "demo"
    assert config == {
        "demo:groups": '["a", "b"]',
        "demo:enabled": "false",
        "aws:region": "x",
        "demo:plain": "hello",
    }


def test_defaults_fill_in(project):
    (project / "Pulumi.s.yaml").write_text("config:\n  demo:groups: [a]\n")
    assert stack_config(project, "s")[1]["demo:enabled"] == "true"


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "y"])
def test_yaml_1_1_boolean_words_stay_strings(project, word):
    (project / "Pulumi.s.yaml").write_text(f"config:\n  demo:groups: [a]\n  demo:enabled: {word}\n")
    assert stack_config(project, "s")[1]["demo:enabled"] == word


@pytest.mark.parametrize("word", ["true", "True", "FALSE"])
def test_yaml_1_2_booleans_reach_the_program_as_written(project, word):
    # As the Pulumi CLI passes them; the program's config reader takes every YAML 1.2 spelling.
    (project / "Pulumi.s.yaml").write_text(f"config:\n  demo:groups: [a]\n  demo:enabled: {word}\n")
    assert stack_config(project, "s")[1]["demo:enabled"] == word


def test_a_declared_key_without_default_is_required(project):
    (project / "Pulumi.s.yaml").write_text("config: {}\n")
    with pytest.raises(ProjectError, match="Stack 's' is missing configuration value 'groups'"):
        stack_config(project, "s")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- 1\n", "must be a YAML mapping"),
        ("config: [1, 2]\n", "must be a YAML mapping"),
        ("config: {\n", "not valid YAML"),
    ],
)
def test_unreadable_stack_files(project, content, message):
    (project / "Pulumi.s.yaml").write_text(content)
    with pytest.raises(ProjectError, match=message):
        stack_config(project, "s")


def test_missing_files(tmp_path):
    with pytest.raises(ProjectError, match="cannot read"):
        stack_config(tmp_path, "s")


def test_top_level_scalars_reach_the_program_as_written(tmp_path):
    # The Pulumi CLI keeps a top-level value's source text: an unquoted account ID keeps its
    # leading zero (YAML alone would read 001122334455 as an octal number).
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    (tmp_path / "Pulumi.s.yaml").write_text(
        "config:\n  p:a: 001122334455\n  p:b: 0x1f\n  p:c: 'quoted'\n  p:d: true\n  p:e: [1, yes]\n"
    )
    _, config = stack_config(tmp_path, "s")
    assert config == {"p:a": "001122334455", "p:b": "0x1f", "p:c": "quoted", "p:d": "true", "p:e": '[1, "yes"]'}


def test_an_unknown_stack_lists_the_stacks_there():
    with pytest.raises(ProjectError, match=r"stack 'staging' has no config file .*\(stacks here: dev, org, prod\)$"):
        stack_config(ROOT, "staging")
