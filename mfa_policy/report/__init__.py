"""Self-contained HTML reports: plain report data (what ``--format json`` prints) -> Jinja2
templates -> one HTML file with its CSS and SVG inline (rendering only: no decisions here).

``render_explain(data)`` draws ``explain``'s report (mfa_policy.verifier.explanation);
``render_audit(accounts)`` the audit's, from per-account entries around ``audit --format json``
(mfa_policy.report.audit: a single account is ``[account_entry(json)]``). A new
report is one template in ``templates/`` (extending ``base.html.j2``, using the macros of
``macros.html.j2``) and one data function; a few lines of inline script, if it needs them, go in
``static/`` and are named in ``render(..., scripts=[...])``, which allows exactly those in the
page's Content-Security-Policy. Needs the ``report`` extra (Jinja2).
"""

from __future__ import annotations

from mfa_policy.report.rendering import render, render_audit, render_explain

__all__ = ["render", "render_audit", "render_explain"]
