"""``python -m mfa_policy``: the command line (see ``mfa_policy.cli``)."""

import sys

from mfa_policy.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m mfa_policy"))
