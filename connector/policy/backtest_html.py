"""The backtest as one self-contained HTML page: summary, a chart (inline SVG), the changes by
rule and the agreement matrix with its case ids. No scripts, no external assets: it opens from
a mail attachment or a USB stick."""

from __future__ import annotations

from html import escape

from connector.formatting import yuan, yuan_with_sign
from connector.policy.backtest import BacktestReport, action_counts

_BAR_W, _GAP, _CHART_H = 28, 18, 180


def _chart(report: BacktestReport) -> str:
    """Grouped bars: decisions per action as recorded (grey) and by the candidate (blue)."""
    before, after = action_counts(report)
    actions = sorted(set(before) | set(after))
    top = max([*before.values(), *after.values(), 1])
    width = max(len(actions) * (2 * _BAR_W + _GAP) + 60, 320)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{_CHART_H + 90}" '
        'role="img" aria-label="decisions per action, recorded and candidate">'
    ]
    for i, action in enumerate(actions):
        x = 40 + i * (2 * _BAR_W + _GAP)
        for j, (count, colour) in enumerate(((before[action], "#999"), (after[action], "#2a6fd6"))):
            h = round(_CHART_H * count / top)
            parts.append(
                f'<rect x="{x + j * _BAR_W}" y="{_CHART_H - h + 10}" width="{_BAR_W - 4}" '
                f'height="{h}" fill="{colour}"><title>{escape(action)}: {count}</title></rect>'
                f'<text x="{x + j * _BAR_W + 2}" y="{_CHART_H - h + 6}" font-size="10">'
                f"{count}</text>"
            )
        parts.append(
            f'<text x="{x}" y="{_CHART_H + 24}" font-size="10" '
            f'transform="rotate(30 {x} {_CHART_H + 24})">{escape(action)}</text>'
        )
    parts.append(
        f'<rect x="{width - 150}" y="4" width="10" height="10" fill="#999"/>'
        f'<text x="{width - 136}" y="13" font-size="11">recorded</text>'
        f'<rect x="{width - 150}" y="20" width="10" height="10" fill="#2a6fd6"/>'
        f'<text x="{width - 136}" y="29" font-size="11">candidate</text></svg>'
    )
    return "".join(parts)


def render_html(report: BacktestReport, *, scope: str) -> str:
    money = report.money()
    agreement = report.agreement()
    rows = "".join(
        f"<tr><td>{escape(g['from_rule'])}</td><td>{escape(g['from_action'])}</td>"
        f"<td>{escape(g['to_rule'])}</td><td>{escape(g['to_action'])}</td><td>{g['count']}</td>"
        f"<td>{escape(yuan_with_sign(int(g['money_delta_fen'])))}</td>"
        f"<td>{escape(', '.join(g['case_ids']))}</td></tr>"
        for g in report.by_rule()
    )
    matrix = agreement["matrix"]
    people = sorted({p for cells in matrix.values() for p in cells})
    head = "".join(f"<th>{escape(p)}</th>" for p in people)
    body = "".join(
        f"<tr><th>{escape(action)}</th>"
        + "".join(
            f"<td>{len(cells.get(p, []))}<br><small>{escape(', '.join(cells.get(p, [])))}"
            "</small></td>"
            for p in people
        )
        + "</tr>"
        for action, cells in matrix.items()
    )
    rate = agreement["rate"]
    rate_text = "-" if rate is None else f"{rate:.1%}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Backtest: {escape(report.candidate_name)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}small{{color:#555}}</style>
</head><body>
<h1>Backtest of {escape(report.candidate_name)} <small>{escape(report.candidate_version)}</small>
</h1>
<p>{escape(scope)}</p>
<ul>
<li>Decisions replayed 重放决定: <b>{report.replayed}</b></li>
<li>Decided differently 决定不同: <b>{report.changed}</b></li>
<li>Automatic refunds added 新增自动退款: {money["added_cases"]} cases,
{escape(yuan(money["added_fen"], symbol=True))}</li>
<li>Automatic refunds removed 减少自动退款: {money["removed_cases"]} cases,
{escape(yuan(money["removed_fen"], symbol=True))}</li>
<li>Money moved differently 金额变化: <b>{escape(yuan_with_sign(money["delta_fen"]))}</b></li>
<li>Agreement with people 与人工一致: {agreement["agreed"]}/{agreement["cases"]} ({rate_text})</li>
</ul>
<h2>Decisions per action 各动作决定数</h2>
{_chart(report)}
<h2>Changed decisions by rule 按规则的变化</h2>
<table><tr><th>rule (recorded)</th><th>action</th><th>rule (candidate)</th><th>action</th>
<th>cases</th><th>money</th><th>case ids</th></tr>{rows}</table>
<h2>Candidate vs people 候选策略与人工 (rows: candidate, columns: person)</h2>
<table><tr><th></th>{head}</tr>{body}</table>
</body></html>
"""
