"""The HTML dashboard: one self-contained file of inline SVG charts (SPEC §8, written by
``ott report`` next to ``analysis_report.txt``).

    ott report --data-dir data        # writes data/reports/dashboard.html
    scripts/screenshot_dashboard.sh data/reports/dashboard.html /tmp/dashboard.png

Self-contained by construction: the charts are SVG drawn here in Python (inline SVG in
HTML5 needs no namespace URL), the styles are inline, there is no script and no URL of
any kind (no CDN, fonts or images), so the
file renders offline and makes no network request. Every string that comes from the
data (titles, genres, advertisers, ids) passes through :func:`esc` (``html.escape``).
Hovering a bar or point shows its exact value (SVG ``<title>``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from scripts.report import RETENTION_WEEKS, TOP_ALERTS, ReportData, fmt_change, fmt_hours, fmt_int, fmt_num, fmt_pct, fmt_usd

PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#ec4899", "#84cc16", "#64748b", "#f97316")
INK, MUTED, GRID = "#0f172a", "#64748b", "#e2e8f0"


def esc(value: object) -> str:
    """HTML/SVG-escape any value that came from the data."""
    return html.escape("–" if value is None else str(value), quote=True)


def axis_ticks(max_value: float) -> list[float]:
    """Gridline values 0, step, ..., top: step is 1, 2 or 5 × 10^k, at most 5 intervals."""
    if max_value <= 0:
        return [0.0, 1.0]
    raw = max_value / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(f * magnitude for f in (1, 2, 5, 10) if f * magnitude >= raw)
    count = max(1, math.ceil(max_value / step - 1e-9))
    return [step * k for k in range(count + 1)]


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    value_fmt=fmt_int,
    width: int = 640,
    height: int = 260,
) -> str:
    """Lines over a shared x axis of dates; ``series`` = (name, values)."""
    left, right, top, bottom = 56, 16, 16, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = axis_ticks(max([v for _, vals in series for v in vals if v is not None] or [0]))
    top_value = ticks[-1]
    n = max(len(x_labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / top_value)

    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img">']
    for gv in ticks:
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(gv):.1f}" y2="{y(gv):.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 6}" y="{y(gv) + 4:.1f}" text-anchor="end" class="axis">{esc(value_fmt(gv))}</text>')
    step = max(1, n // 8)
    for i, label in enumerate(x_labels):
        if i % step == 0 or i == n - 1:
            parts.append(f'<text x="{x(i):.1f}" y="{height - bottom + 18}" text-anchor="middle" class="axis">{esc(label[5:])}</text>')
    for s, (name, values) in enumerate(series):
        color = PALETTE[s % len(PALETTE)]
        points = [(x(i), y(v), v) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5"/>')
        for i, (px, py, v) in enumerate(points):
            parts.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{color}"><title>{esc(name)} '
                f"{esc(x_labels[i])}: {esc(value_fmt(v))}</title></circle>"
            )
    parts.append("</svg>")
    legend = "".join(
        f'<span class="key"><i style="background:{PALETTE[s % len(PALETTE)]}"></i>{esc(name)}</span>'
        for s, (name, _) in enumerate(series)
    )
    return f'<div class="legend">{legend}</div>' + "".join(parts)


def hbar_chart(
    items: Sequence[tuple[str, float, str]], color: str = PALETTE[0], width: int = 640, bar: int = 22, value_w: int = 90
) -> str:
    """Horizontal bars: (label, value, value text); ``value_w`` reserves room for the text."""
    label_w, gap = 220, 8
    height = max(len(items), 1) * (bar + gap) + gap
    top_value = max([v for _, v, _ in items] or [0]) or 1.0
    plot_w = width - label_w - value_w
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img">']
    for i, (label, value, text) in enumerate(items):
        yy = gap + i * (bar + gap)
        short = label if len(label) <= 30 else label[:29] + "…"
        bw = max(plot_w * value / top_value, 1)
        parts.append(f'<text x="{label_w - 8}" y="{yy + bar * 0.7:.1f}" text-anchor="end" class="lbl">{esc(short)}</text>')
        parts.append(
            f'<rect x="{label_w}" y="{yy}" width="{bw:.1f}" height="{bar}" rx="3" fill="{color}">'
            f"<title>{esc(label)}: {esc(text)}</title></rect>"
        )
        parts.append(f'<text x="{label_w + bw + 6:.1f}" y="{yy + bar * 0.7:.1f}" class="val">{esc(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stacked_share_bar(items: Sequence[tuple[str, float]], width: int = 640) -> str:
    """One 100% bar of shares plus a legend: (label, share 0–1)."""
    total = sum(v for _, v in items) or 1.0
    parts = [f'<svg viewBox="0 0 {width} 48" width="100%" role="img">']
    x = 0.0
    for i, (label, value) in enumerate(items):
        w = width * value / total
        parts.append(
            f'<rect x="{x:.1f}" y="4" width="{w:.1f}" height="40" fill="{PALETTE[i % len(PALETTE)]}">'
            f"<title>{esc(label)}: {esc(fmt_pct(value / total))}</title></rect>"
        )
        if w > 48:
            parts.append(f'<text x="{x + w / 2:.1f}" y="29" text-anchor="middle" class="inbar">{esc(fmt_pct(value / total, 0))}</text>')
        x += w
    parts.append("</svg>")
    legend = "".join(
        f'<span class="key"><i style="background:{PALETTE[i % len(PALETTE)]}"></i>{esc(label)} · {esc(fmt_pct(value / total))}</span>'
        for i, (label, value) in enumerate(items)
    )
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def grouped_bars(groups: Sequence[str], metrics: Sequence[tuple[str, Sequence[float | None]]], width: int = 640, height: int = 260) -> str:
    """Vertical grouped bars of percentages: one group per label, one bar per metric."""
    left, right, top, bottom = 48, 8, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = axis_ticks(max([v for _, vals in metrics for v in vals if v is not None] or [0]))
    top_value = ticks[-1]
    group_w = plot_w / max(len(groups), 1)
    bar_w = group_w * 0.8 / max(len(metrics), 1)
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img">']
    for gv in ticks:
        yy = top + plot_h * (1 - gv / top_value)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" class="axis">{esc(fmt_pct(gv, 0 if top_value >= 0.05 else 1))}</text>')
    for g, group in enumerate(groups):
        gx = left + g * group_w + group_w * 0.1
        for m, (name, values) in enumerate(metrics):
            v = values[g] or 0.0
            h = plot_h * v / top_value
            parts.append(
                f'<rect x="{gx + m * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[m % len(PALETTE)]}"><title>{esc(group)} {esc(name)}: {esc(fmt_pct(values[g], 2))}</title></rect>'
            )
        parts.append(f'<text x="{left + g * group_w + group_w / 2:.1f}" y="{height - bottom + 18}" text-anchor="middle" class="axis">{esc(group)}</text>')
    parts.append("</svg>")
    legend = "".join(
        f'<span class="key"><i style="background:{PALETTE[m % len(PALETTE)]}"></i>{esc(name)}</span>' for m, (name, _) in enumerate(metrics)
    )
    return f'<div class="legend">{legend}</div>' + "".join(parts)


def heat_map(rows: Sequence[dict], weeks: int = RETENTION_WEEKS) -> str:
    """Retention matrix as an HTML table whose cells are shaded by the rate."""
    head = "".join(f"<th>W{n}</th>" for n in range(weeks))
    body = []
    for r in rows:
        cells = []
        for n in range(weeks):
            v = r.get(f"week_{n}")
            if v is None:
                cells.append('<td class="na">–</td>')
            else:
                alpha = 0.08 + 0.92 * max(0.0, min(1.0, v))
                fg = "#fff" if alpha > 0.55 else INK
                cells.append(f'<td style="background:rgba(37,99,235,{alpha:.2f});color:{fg}">{esc(fmt_pct(v, 0))}</td>')
        body.append(f"<tr><th>{esc(r['cohort_week'])}</th><td class=\"num\">{esc(fmt_int(r['cohort_size']))}</td>{''.join(cells)}</tr>")
    return f'<table class="heat"><tr><th>cohort week</th><th>users</th>{head}</tr>{"".join(body)}</table>'


def tile(label: str, value: str, change: float | None = None) -> str:
    delta = ""
    if change is not None:
        cls = "up" if change >= 0 else "down"
        delta = f'<div class="delta {cls}">{esc(fmt_change(change))} vs previous day</div>'
    return f'<div class="tile"><div class="tl">{esc(label)}</div><div class="tv">{esc(value)}</div>{delta}</div>'


CSS = """
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;
color:#0f172a;background:#f1f5f9}header{padding:20px 32px;background:#0f172a;color:#f8fafc}
header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#cbd5e1}
main{padding:20px 32px;display:grid;grid-template-columns:1fr 1fr;gap:20px}
.card{background:#fff;border-radius:10px;padding:16px 18px;box-shadow:0 1px 3px rgba(15,23,42,.08)}
.card h2{margin:0 0 10px;font-size:16px}.wide{grid-column:1/-1}
.tiles{display:grid;grid-template-columns:repeat(5,1fr);gap:14px}
.tile{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 3px rgba(15,23,42,.08)}
.tl{color:#64748b;font-size:12px;text-transform:uppercase;letter-spacing:.04em}.tv{font-size:24px;font-weight:650}
.delta{font-size:12px}.up{color:#059669}.down{color:#dc2626}
.axis{font-size:11px;fill:#64748b}.lbl{font-size:12px;fill:#0f172a}.val{font-size:12px;fill:#334155}
.inbar{font-size:12px;fill:#fff;font-weight:600}
.legend{display:flex;flex-wrap:wrap;gap:12px;margin:0 0 6px;font-size:12px;color:#334155}
.key i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:5px 8px;text-align:left}
.heat td{text-align:center;border:2px solid #fff}.heat td.na{color:#94a3b8}.num{text-align:right}
.list td,.list th{border-bottom:1px solid #e2e8f0}.list td.n{text-align:right}
ul{margin:0;padding-left:20px}li{margin:4px 0}
"""


def render_dashboard(d: ReportData, generated_at: str) -> str:
    """The whole dashboard as one HTML string."""
    dates = [r["event_date"] for r in d.daily]
    last = d.latest_complete  # tiles never show a trailing partial day (see report.detect_partial_day)
    tiles = "".join(
        [
            tile(f"Active users {last['event_date']}", fmt_int(last["active_users"]), last["active_users_dod"]),
            tile("7-day active users", fmt_int(last["rolling_7d_active_users"])),
            tile(f"Watch hours {last['event_date']}", fmt_hours(last["watch_hours"]), last["watch_hours_dod"]),
            tile(f"Ad revenue {last['event_date']}", fmt_usd(last["ad_revenue_usd"]), last["ad_revenue_dod"]),
            tile("Ad revenue, whole window", fmt_usd(d.volumes["ad_revenue_usd"])),
        ]
    )
    users_chart = line_chart(
        dates,
        [("Daily active users", [r["active_users"] for r in d.daily]),
         ("7-day active users", [r["rolling_7d_active_users"] for r in d.daily])],
    )
    hours_chart = line_chart(
        dates, [("Watch hours", [r["watch_hours"] for r in d.daily])], value_fmt=lambda v: f"{v:,.0f} h"
    )
    titles_chart = hbar_chart(
        [(r["title"] or "–", r["watch_hours"] or 0.0, fmt_hours(r["watch_hours"])) for r in d.top_titles]
    )
    # the mix bar names the 7 biggest genres and pools the long tail, so colours stay distinct
    mix = [(r["genre"] or "–", r["watch_hours"] or 0.0) for r in d.genres]
    if len(mix) > 8:
        mix = mix[:7] + [(f"{len(mix) - 7} other genres", sum(h for _, h in mix[7:]))]
    genre_chart = stacked_share_bar(mix)
    genre_chart += hbar_chart(
        [(r["genre"] or "–", r["plays"] or 0, f"{fmt_int(r['plays'])} plays") for r in d.genres], color=PALETTE[2]
    )
    qoe_chart = grouped_bars(
        [r["device_type"] for r in d.devices],
        [
            ("Video start failure", [r["video_start_failure_rate"] for r in d.devices]),
            ("Exit before start", [r["exit_before_start_rate"] for r in d.devices]),
            ("Playback failure", [r["playback_failure_rate"] for r in d.devices]),
            ("Rebuffer ratio", [r["rebuffer_ratio"] for r in d.devices]),
        ],
    )
    ads_chart = hbar_chart(
        [(r["placement"], r["revenue_usd"] or 0.0, f"{fmt_usd(r['revenue_usd'])} · eCPM {fmt_usd(r['ecpm_usd'])}") for r in d.placements],
        color=PALETTE[1],
        value_w=190,
    )
    alerts = "".join(
        f"<tr><td>{esc(a['campaign_id'])}</td><td>{esc(a['advertiser'])}</td>"
        f"<td>{esc(a['status'])}{' (ended)' if a['flight_ended'] else ''}</td>"
        f"<td>{esc(a['severity'])}</td><td class=\"n\">{esc(fmt_num(a['pacing_index'], 2))}</td>"
        f"<td class=\"n\">{esc(fmt_usd(a['spend_usd']))}</td><td class=\"n\">{esc(fmt_usd(a['budget_usd']))}</td></tr>"
        for a in d.alerts[:TOP_ALERTS]
    ) or '<tr><td colspan="7">No pacing alerts.</td></tr>'
    findings = "".join(f"<li>{esc(f)}</li>" for f in d.findings)
    w = d.window
    partial = (
        f" · {d.partial_day['event_date']} is a partial day (spill-over only, "
        f"{fmt_int(d.partial_day['attempts'])} sessions); tiles show {last['event_date']}, the latest complete day"
        if d.partial_day else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OTT analytics dashboard</title>
<style>{CSS}</style></head>
<body>
<header><h1>OTT analytics dashboard</h1>
<p>Data window {esc(w['first_date'])} to {esc(w['last_date'])} ({esc(w['days'])} days){esc(partial)} · generated at {esc(generated_at)}</p></header>
<main>
<div class="tiles wide">{tiles}</div>
<section class="card"><h2>Daily and 7-day active users</h2>{users_chart}</section>
<section class="card"><h2>Watch hours per day</h2>{hours_chart}</section>
<section class="card"><h2>Top titles by watch hours</h2>{titles_chart}</section>
<section class="card"><h2>Genre mix (share of watch time, plays)</h2>{genre_chart}</section>
<section class="card"><h2>Quality of experience by device</h2>{qoe_chart}</section>
<section class="card"><h2>Ad revenue by placement</h2>{ads_chart}</section>
<section class="card"><h2>Retention by signup-week cohort</h2>{heat_map(d.retention)}</section>
<section class="card"><h2>Campaign pacing alerts{esc(f" (top {TOP_ALERTS} of {len(d.alerts)})" if len(d.alerts) > TOP_ALERTS else "")}</h2><table class="list">
<tr><th>campaign</th><th>advertiser</th><th>status</th><th>severity</th><th>index</th><th>spend</th><th>budget</th></tr>{alerts}</table></section>
<section class="card wide"><h2>Findings</h2><ul>{findings}</ul></section>
</main></body></html>
"""
