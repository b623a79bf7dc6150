# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readiness report as one self-contained HTML page (inline CSS, no script, nothing fetched): the summary, one
table row per seed requirement (``tr.requirement`` with ``data-id`` and ``data-status``), the port matrix and the
AMT discovery summary. Rendered with Jinja2 (autoescaped), which every Ansible controller has."""

from __future__ import annotations

from ansible_collections.oob.prep.plugins.module_utils.report.readiness import VERDICT

try:
    from jinja2 import Environment

    HAS_JINJA2 = True
except ImportError:  # pragma: no cover - Ansible itself needs Jinja2
    HAS_JINJA2 = False

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Out of band management readiness - {{ doc.environment }}</title>
<style>
  body { font: 14px/1.45 "Segoe UI", "DejaVu Sans", Arial, sans-serif; color: #1d232a; margin: 24px 32px; }
  h1 { font-size: 22px; margin: 0 0 4px; }
  h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d5dbe1; padding-bottom: 4px; }
  .meta { color: #56606b; margin-bottom: 16px; }
  .cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0 4px; }
  .card { border-radius: 6px; padding: 8px 16px; min-width: 90px; text-align: center; border: 1px solid #d5dbe1; }
  .card b { display: block; font-size: 24px; }
  .overall { font-weight: 600; padding: 2px 10px; border-radius: 4px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid #e3e7eb; }
  th { background: #f3f5f7; font-weight: 600; }
  td.status { white-space: nowrap; font-weight: 700; text-transform: uppercase; font-size: 12px; }
  .pass { background: #e3f4e6; color: #17642a; }
  .fail { background: #fbe4e4; color: #9b1c1c; }
  .warn { background: #fff3d6; color: #7a5200; }
  .skip { background: #eceff2; color: #4a5561; }
  .partial { background: #e6f0fb; color: #1d4f91; }
  td.req { width: 34%; }
  td.ev ul { margin: 0; padding-left: 16px; }
  td.ev li { margin: 0 0 2px; word-break: break-word; }
  .remedy { margin-top: 4px; color: #1d4f91; }
  .scope { margin-top: 4px; color: #56606b; font-size: 12px; }
  .sec { color: #56606b; font-size: 12px; }
  details summary { cursor: pointer; color: #17642a; }
  code { font-size: 12px; }
</style>
</head>
<body>
<h1>Out of band management readiness</h1>
<div class="meta">Environment <b>{{ doc.environment }}</b> &middot; {{ doc.generated }}
  {%- if doc.check_mode %} &middot; check run (nothing was changed){% endif %} &middot; requirements from
  Microsoft's external dependencies for Configuration Manager 2007 SP1 out of band management</div>
<div>Overall: <span id="overall" class="overall {{ doc.overall }}">{{ verdicts[doc.overall] }}</span></div>
<div class="cards" id="totals">
{%- for s in ["pass", "partial", "warn", "fail", "skip"] %}
  <div class="card {{ s }}" data-status="{{ s }}"><b>{{ doc.totals[s] }}</b>{{ labels[s] }}</div>
{%- endfor %}
  <div class="card"><b>{{ doc.totals.total }}</b>requirements</div>
</div>

<h2>Requirements</h2>
<table id="requirements">
<thead><tr><th>#</th><th>Requirement (the seed's words)</th><th>Status</th><th>Evidence and remedy</th></tr></thead>
<tbody>
{%- for r in doc.requirements %}
<tr class="requirement" data-id="{{ r.id }}" data-status="{{ r.status }}">
  <td class="sec">{{ r.section }}<br>{{ r.topic }}</td>
  <td class="req"><code>{{ r.id }}</code><br>{{ r.requirement }}
    {%- if r.scope %}<div class="scope">{{ r.scope }}</div>{% endif %}</td>
  <td class="status {{ r.status }}">{{ labels[r.status] }}</td>
  <td class="ev">
    {%- set ns = namespace(shown=[], passed=[]) %}
    {%- for e in r.evidence %}{% if e.startswith('PASS ') %}{% set ns.passed = ns.passed + [e] %}
    {%- else %}{% set ns.shown = ns.shown + [e] %}{% endif %}{% endfor %}
    {%- if ns.shown %}<ul>{% for e in ns.shown[:12] %}<li>{{ e }}</li>{% endfor %}
    {%- if ns.shown | length > 12 %}<li>... {{ ns.shown | length - 12 }} more in the JSON report</li>{% endif %}
    </ul>
    {%- endif %}
    {%- if ns.passed %}<details><summary>{{ ns.passed | length }} check(s) passed</summary><ul>
    {%- for e in ns.passed %}<li>{{ e }}</li>{% endfor %}</ul></details>{% endif %}
    {%- if r.remedy %}<div class="remedy">Remedy: {{ r.remedy }}</div>{% endif %}</td>
</tr>
{%- endfor %}
</tbody>
</table>

<h2>Port matrix</h2>
{%- if doc.port_matrix %}
<table id="port-matrix">
<thead><tr><th>Flow</th><th>From</th><th>To</th><th>Protocol / port</th><th>Seed row</th></tr></thead>
<tbody>
{%- for f in doc.port_matrix %}
<tr><td><code>{{ f.id }}</code></td><td>{{ f.source }}</td><td>{{ f.dest }}</td>
  <td>{{ f.proto | upper }} {{ f.port }}</td><td>{{ f.seed | default(f.row) }}</td></tr>
{%- endfor %}
</tbody>
</table>
{%- else %}
<p>The port matrix was not rendered in this run.</p>
{%- endif %}

<h2>AMT discovery</h2>
{%- if doc.amt and doc.amt.devices is defined %}
<p>{{ doc.amt.devices | length }} AMT device(s) found
  {%- if doc.amt.summary and doc.amt.summary.support_class %} by support class:
  {% for k, v in doc.amt.summary.support_class | dictsort -%}
  {{ k }} {{ v }}{% if not loop.last %}, {% endif %}{% endfor %}{% endif %}.</p>
{%- set trust = {} %}
{%- for t in doc.amt.trust | default([]) if t.address %}{% set _ = trust.update({t.address: t}) %}{% endfor %}
<table id="amt-devices">
<thead><tr><th>Address</th><th>Name</th><th>AMT version</th><th>Support</th><th>State</th>
  <th>Trusts the provisioning root</th></tr></thead>
<tbody>
{%- for d in doc.amt.devices %}
<tr><td>{{ d.address }}</td><td>{{ [d.hostname, d.domain] | select | join('.') or '-' }}</td>
  <td>{{ d.version or 'unknown' }}</td><td>{{ d.support_class or '-' }}</td>
  <td>{{ d.provisioning_state or '-' }}</td>
  <td>{% if d.address in trust %}{% set t = trust[d.address] %}<span class="{{ t.status }}">{{ trusts[t.status] }}
    </span>
    ({{ t.source }}){% else %}not checked{% endif %}</td></tr>
{%- endfor %}
</tbody>
</table>
{%- else %}
<p>No AMT discovery ran in this run.</p>
{%- endif %}
{%- if doc.amt and doc.amt.trust %}
<h3>Will each device accept the provisioning certificate?</h3>
<p>A device in setup mode is provisioned only when one of the root certificate hashes in its firmware is the hash of
the root of the service point's AMT provisioning certificate.</p>
<table id="amt-trust">
<thead><tr><th>Device</th><th>UUID</th><th>Address</th><th>Verdict</th><th>Hashes from</th><th>Evidence</th></tr>
</thead>
<tbody>
{%- for t in doc.amt.trust %}
<tr><td>{{ t.device }}</td><td>{{ t.uuid or '-' }}</td><td>{{ t.address or '-' }}</td>
  <td class="{{ t.status }}">{{ trusts[t.status] }}</td><td>{{ sources[t.source] | default(t.source) }}</td>
  <td>{{ t.evidence }}</td></tr>
{%- endfor %}
</tbody>
</table>
{%- endif %}
</body>
</html>
"""


def to_html(doc: dict) -> str:
    if not HAS_JINJA2:  # pragma: no cover
        raise ValueError("the HTML report needs Jinja2 on the host that writes it")
    env = Environment(autoescape=True, trim_blocks=False, lstrip_blocks=False)
    labels = {"pass": "pass", "partial": "passed with skips", "warn": "warn", "fail": "fail", "skip": "skipped"}
    trusts = {"pass": "trusted", "fail": "not trusted", "warn": "unknown", "skip": "not checked"}
    sources = {"hello": "its hello to the service point", "wsman": "WS-MAN (AMT_ProvisioningCertificateHash)",
               "default": "the published defaults of its AMT version", "unknown": "nowhere"}  # fmt: skip
    return env.from_string(PAGE).render(doc=doc, labels=labels, verdicts=VERDICT, trusts=trusts, sources=sources)
