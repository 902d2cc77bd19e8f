"""The examples in docs/using-the-component.md run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import ROOT

PAGE = ROOT / "docs" / "using-the-component.md"


def test_the_consumer_test_example_passes_as_written(tmp_path):
    section = PAGE.read_text().split("## Testing a program that uses it", 1)[1].split("\n## ", 1)[0]
    example, subclass = re.findall(r"```python\n(.*?)```", section, re.DOTALL)[:2]
    (tmp_path / "test_consumer.py").write_text(example + "\n\n" + subclass)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_consumer.py")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "1 passed" in completed.stdout
