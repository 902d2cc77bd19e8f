"""Audit a live account: who is protected by MFA enforcement (``aws`` reads, ``verdicts`` decides)."""
