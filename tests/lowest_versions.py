"""What `make test-lowest` checks about its two resolutions (run by the Makefile, not by pytest).

    python tests/lowest_versions.py floors RUNTIME.txt FLOORS.txt
        fail if a test-tool floor names a runtime dependency (it would raise it on purpose);
    python tests/lowest_versions.py raised RUNTIME.txt ENV.txt
        print the runtime dependencies the test tools' own requirements raise above their lowest.
"""

from __future__ import annotations

import re
import sys


def pins(path: str) -> dict[str, str]:
    """``name==version`` lines of a uv-compiled file, by lower-case name."""
    found = {}
    with open(path) as lines:
        for line in lines:
            name, equals, version = line.strip().partition("==")
            if equals and not line.startswith("#"):
                found[name.lower()] = version
    return found


def floor_names(path: str) -> set[str]:
    with open(path) as lines:
        return {re.split(r"[<>=!~ ;\[]", line.strip())[0].lower() for line in lines if line.strip()[:1].isalpha()}


def main(argv: list[str]) -> int:
    command, runtime_file, other_file = argv
    runtime = pins(runtime_file)
    if command == "floors":
        overlap = sorted(set(runtime) & floor_names(other_file))
        if overlap:
            print(f"{other_file} would raise runtime dependencies: {', '.join(overlap)}", file=sys.stderr)
            return 1
        return 0
    env = pins(other_file)
    raised = [f"{name} {old} -> {env[name]}" for name, old in sorted(runtime.items()) if env.get(name, old) != old]
    if raised:
        print("runtime dependencies the test tools need higher than their lowest (tested at these):")
        print("\n".join(f"  {line}" for line in raised))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
