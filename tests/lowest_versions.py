"""What `make test-lowest` checks about its two resolutions (run by the Makefile, not by pytest).

    python tests/lowest_versions.py floors RUNTIME.txt FLOORS.txt
        fail if a test-tool floor names a runtime dependency (it would raise it on purpose);
    python tests/lowest_versions.py raised RUNTIME.txt ENV.txt
        print the runtime dependencies the test tools' own requirements raise above their lowest;
    python tests/lowest_versions.py sources WHEELS.txt SOURCES.txt
        fail if resolving with source releases allowed (as `pip install` and `uv` do by default)
        picks another version than the wheel-only resolution the tests run: an old sdist that the
        ranges let in and the tests never see (wrapt 1.10.0 once). The fix is a floor.
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
    if command == "sources":
        sources = pins(other_file)
        differ = sorted(name for name in set(runtime) | set(sources) if runtime.get(name) != sources.get(name))
        if differ:
            print(
                "with source releases allowed the lowest versions differ from the tested (wheel-only) ones; "
                "raise these floors to the tested version:",
                file=sys.stderr,
            )
            for name in differ:
                shown = f"  {name}: {sources.get(name, '-')} (sources) vs {runtime.get(name, '-')} (wheels)"
                print(shown, file=sys.stderr)
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
