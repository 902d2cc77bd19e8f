"""Render report data with the templates (Jinja2, autoescaping always on).

Every page is self-contained: its CSS, SVG and any inline script are in the file, and its
Content-Security-Policy forbids fetching anything (``default-src 'none'``) and allows exactly the
page's own style sheet and scripts by hash, so even text that slipped through escaping could
neither run nor load anything.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mfa_policy import __version__
from mfa_policy.extras import requires_extra
from mfa_policy.report import helpers

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STYLE_SHEET = "report.css"


@functools.cache
def environment() -> Any:
    """The Jinja2 environment: templates from ``templates/``, autoescaping on for every template,
    undefined names an error (a typo in a template fails, rather than printing nothing)."""
    with requires_extra("report", "an HTML report"):
        import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(helpers.FILTERS)
    env.globals.update(helpers.GLOBALS)
    return env


def static_text(name: str) -> str:
    """A file of ``static/`` (the style sheet, an inline script)."""
    return (STATIC / name).read_text(encoding="utf-8")


def content_security_policy(style: str, scripts: Sequence[str]) -> str:
    """Nothing fetched, nothing run but the page's own style sheet and scripts (by hash)."""
    script_sources = " ".join(_hash_source(script) for script in scripts) or "'none'"
    return (
        f"default-src 'none'; style-src {_hash_source(style)}; script-src {script_sources}; "
        "base-uri 'none'; form-action 'none'"
    )


def _hash_source(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def render(
    template: str, data: Mapping[str, Any], *, title: str, scripts: Sequence[str] = (), styles: Sequence[str] = ()
) -> str:
    """One self-contained HTML page: ``template`` drawing ``data``, with the style sheet (and the
    named ``static/`` style sheets after it: one ``<style>``) and the named ``static/`` scripts inline."""
    env = environment()
    with requires_extra("report", "an HTML report"):
        from markupsafe import Markup

    style = "".join(static_text(name) for name in (STYLE_SHEET, *styles))
    inline = [static_text(name) for name in scripts]
    page = env.get_template(template).render(
        data=data,
        title=title,
        # Trusted files of this package, inlined verbatim: their hashes are in the policy.
        style=Markup(style),
        scripts=[Markup(script) for script in inline],
        csp=content_security_policy(style, inline),
        version=__version__,
    )
    return str(page)


# The audit's filter by verdict (a progressive enhancement: the page reads fully without it) and
# its styles (the verdicts' colours, patterns and marks).
AUDIT_SCRIPT = "audit-filter.js"
AUDIT_STYLE = "audit.css"


def render_audit(accounts: Sequence[Mapping[str, Any]], organization: Mapping[str, Any] | None = None) -> str:
    """The audit's report as HTML: ``accounts`` is a list of per-account entries (``{"id", "name",
    "ouPath", "status", "reason", ..., "audit": <audit --format json, or None>}``; a single
    account's audit is ``[mfa_policy.report.audit.account_entry(json)]``), ``organization`` the
    organization report's own summary, if any."""
    from mfa_policy.report.audit import audit_page

    page = audit_page(accounts, organization)
    if organization and organization.get("id"):
        title = f"MFA audit of organization {organization['id']}"
    elif len(accounts) == 1:
        title = f"MFA audit of account {accounts[0]['id']}"
    else:
        title = f"MFA audit of {len(accounts)} accounts"
    return render("audit.html.j2", page, title=title, scripts=[AUDIT_SCRIPT], styles=[AUDIT_STYLE])


def render_explain(data: Mapping[str, Any]) -> str:
    """``explain``'s report (``mfa_policy.verifier.explanation.explain_report``) as HTML."""
    return render("explain.html.j2", data, title=f"What {data['target']} allows")
