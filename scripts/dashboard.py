"""The HTML dashboard: one self-contained file rendered from :class:`ReportData` and the
findings (SPEC §8, written by ``ott report`` next to ``analysis_report.txt``).

    ott report --data-dir data        # writes data/reports/dashboard.html
    scripts/screenshot_dashboard.sh data/reports/dashboard.html /tmp/dashboard.png [WIDTH]

Self-contained by construction: line and grouped-bar charts are SVG drawn here in Python
(inline SVG in HTML5 needs no namespace URL), bar charts are plain HTML boxes, the
styles are inline, there is no script and no URL of any kind (no CDN, fonts or images),
so the file renders offline and makes no network request.

Every string from the data (titles, genres, advertisers, ids) is cleaned by
:func:`scripts.report_format.clean_text` (no control or bidi characters), cut to its
column, and then HTML-escaped (:func:`esc`). Hovering a bar or point shows its exact
value (SVG ``<title>`` or the ``title`` attribute).

Responsive: two columns of cards on wide screens, one under 600 px, and nothing wider
than the viewport (wide tables scroll inside their card). SVG text sizes are in the
chart's own units, so the narrow layout enlarges them to stay legible when the chart
shrinks. This renderer shares :mod:`scripts.report_data` and :mod:`scripts.report_format`
with the text report and never imports it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from scripts.report_data import RETENTION_WEEKS, ReportData
from scripts.report_format import (
    NAME_WIDTH,
    PACING_INDEX_NOTE,
    TITLE_WIDTH,
    TEXT_MAX,
    TOP_ALERTS,
    cut,
    fmt_change,
    fmt_hours,
    fmt_int,
    fmt_num,
    fmt_pct,
    fmt_usd,
    plural,
)

# categorical colours (genres, series, metrics) ...
PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#ec4899", "#84cc16", "#64748b", "#f97316")
# ... and the colours that never stand for a category: single-series bars, pooled genres
BAR, OTHER = "#334155", "#cbd5e1"
INK, MUTED, GRID = "#0f172a", "#64748b", "#e2e8f0"
FINDING_MAX = 1000  # a finding sentence; its data parts are cut by report_findings
MIX_GENRES = 7  # genres named in the mix bar before the rest is pooled


def esc(value: object, limit: int = TEXT_MAX) -> str:
    """Clean (:func:`clean_text`), cut at ``limit`` and HTML/SVG-escape any value that
    came from the data (findings pass a larger limit: their data parts are cut already)."""
    return html.escape(cut(value, limit), quote=True)


def axis_ticks(max_value: float) -> list[float]:
    """Gridline values 0, step, ..., top: step is 1, 2 or 5 × 10^k, at most 5 intervals."""
    if max_value <= 0:
        return [0.0, 1.0]
    raw = max_value / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(f * magnitude for f in (1, 2, 5, 10) if f * magnitude >= raw)
    count = max(1, math.ceil(max_value / step - 1e-9))
    return [step * k for k in range(count + 1)]


def x_ticks(n: int, most: int = 7) -> list[int]:
    """Indexes of the x labels to draw: at most ``most``, evenly spaced, always the last."""
    if n <= 0:
        return []
    step = max(1, math.ceil(n / most))
    ticks = list(range(n - 1, -1, -step))[::-1]  # anchored on the last date
    return ticks


def legend(entries: Sequence[tuple[str, str]]) -> str:
    """A legend of (colour, label text) keys."""
    keys = "".join(f'<span class="key"><i style="background:{c}"></i>{esc(t)}</span>' for c, t in entries)
    return f'<div class="legend">{keys}</div>'


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    value_fmt=fmt_int,
    width: int = 640,
    height: int = 260,
) -> str:
    """Lines over a shared x axis of dates; ``series`` = (name, values)."""
    left, right, top, bottom = 84, 40, 16, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = axis_ticks(max([v for _, vals in series for v in vals if v is not None] or [0]))
    top_value = ticks[-1]
    n = max(len(x_labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / top_value)

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img">']
    for gv in ticks:
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(gv):.1f}" y2="{y(gv):.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 6}" y="{y(gv) + 4:.1f}" text-anchor="end" class="axis">{esc(value_fmt(gv))}</text>')
    for i in x_ticks(n):
        parts.append(f'<text x="{x(i):.1f}" y="{height - bottom + 22}" text-anchor="middle" class="axis">{esc(str(x_labels[i])[5:])}</text>')
    for s, (name, values) in enumerate(series):
        color = PALETTE[s % len(PALETTE)]
        points = [(x(i), y(v), i, v) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5"/>')
        for px, py, i, v in points:
            parts.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{color}"><title>{esc(name)} '
                f"{esc(x_labels[i])}: {esc(value_fmt(v))}</title></circle>"
            )
    parts.append("</svg>")
    return legend([(PALETTE[s % len(PALETTE)], name) for s, (name, _) in enumerate(series)]) + "".join(parts)


def hbar_chart(items: Sequence[tuple[str, float, str]], color: str = BAR, label_width: int = TITLE_WIDTH) -> str:
    """Horizontal bars as HTML rows: (label, value, value text). Labels are cut to
    ``label_width`` (the full text is in the tooltip); rows reflow on narrow screens."""
    top_value = max([v for _, v, _ in items] or [0]) or 1.0
    rows = []
    for label, value, text in items:
        share = max(100 * value / top_value, 0.5)
        rows.append(
            f'<div class="bar" title="{esc(label)}: {esc(text)}"><span class="bl">{esc(cut(label, label_width))}</span>'
            f'<span class="bt"><i style="width:{share:.1f}%;background:{color}"></i></span>'
            f'<span class="bv">{esc(text)}</span></div>'
        )
    return f'<div class="bars">{"".join(rows)}</div>'


def share_bar(items: Sequence[tuple[str, float]], colors: Sequence[str]) -> str:
    """One 100% bar of shares, every slice named in the legend with its share:
    (label, value) with one colour each."""
    total = sum(v for _, v in items) or 1.0
    slices = "".join(
        f'<i style="width:{100 * v / total:.2f}%;background:{c}" title="{esc(label)}: {esc(fmt_pct(v / total))}">'
        f"{esc(fmt_pct(v / total, 0)) if v / total >= 0.08 else ''}</i>"
        for (label, v), c in zip(items, colors)
    )
    keys = legend([(c, f"{cut(label, NAME_WIDTH + 8)} · {fmt_pct(v / total)}") for (label, v), c in zip(items, colors)])
    return f'<div class="share">{slices}</div>{keys}'


def genre_mix(genres: Sequence[tuple[str, float]]) -> tuple[list[tuple[str, float]], list[str]]:
    """The slices of the genre mix bar and their colours: the biggest MIX_GENRES genres
    by name, the long tail pooled into one grey slice, so every colour stays distinct."""
    mix = list(genres)
    if len(mix) <= MIX_GENRES + 1:
        return mix, list(PALETTE[: len(mix)])
    pooled = (f"{len(mix) - MIX_GENRES} other genres", sum(h for _, h in mix[MIX_GENRES:]))
    return mix[:MIX_GENRES] + [pooled], list(PALETTE[:MIX_GENRES]) + [OTHER]


def grouped_bars(groups: Sequence[str], metrics: Sequence[tuple[str, Sequence[float | None]]], width: int = 640, height: int = 280) -> str:
    """Vertical grouped bars of percentages: one group per label, one bar per metric."""
    left, right, top, bottom = 64, 8, 12, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = axis_ticks(max([v for _, vals in metrics for v in vals if v is not None] or [0]))
    top_value = ticks[-1]
    group_w = plot_w / max(len(groups), 1)
    bar_w = group_w * 0.8 / max(len(metrics), 1)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img">']
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
        # alternate rows, so that long device names never run into each other
        label_y = height - bottom + 22 + 24 * (g % 2)
        parts.append(f'<text x="{left + g * group_w + group_w / 2:.1f}" y="{label_y}" text-anchor="middle" class="axis">{esc(cut(group, 12))}</text>')
    parts.append("</svg>")
    return legend([(PALETTE[m % len(PALETTE)], name) for m, (name, _) in enumerate(metrics)]) + "".join(parts)


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
        body.append(f"<tr><th>{esc(cut(r['cohort_week'], 10))}</th><td class=\"num\">{esc(fmt_int(r['cohort_size']))}</td>{''.join(cells)}</tr>")
    return f'<div class="scroll"><table class="heat"><tr><th>cohort week</th><th>users</th>{head}</tr>{"".join(body)}</table></div>'


def tile(label: str, value: str, change: float | None = None) -> str:
    delta = ""
    if change is not None:
        cls = "up" if change >= 0 else "down"
        delta = f'<div class="delta {cls}">{esc(fmt_change(change))} vs previous day</div>'
    return f'<div class="tile"><div class="tl">{esc(label)}</div><div class="tv">{esc(value)}</div>{delta}</div>'


def alerts_table(d: ReportData) -> str:
    rows = "".join(
        f"<tr><td>{esc(cut(a['campaign_id'], NAME_WIDTH))}</td><td>{esc(cut(a['advertiser'], 24))}</td>"
        f"<td>{esc(a['status'])}{' (ended)' if a['flight_ended'] else ''}</td>"
        f"<td>{esc(a['severity'])}</td><td class=\"n\">{esc(fmt_num(a['pacing_index'], 2))}</td>"
        f"<td class=\"n\">{esc(fmt_usd(a['spend_usd']))}</td><td class=\"n\">{esc(fmt_usd(a['budget_usd']))}</td></tr>"
        for a in d.alerts[:TOP_ALERTS]
    ) or '<tr><td colspan="7">No pacing alerts.</td></tr>'
    head = "<tr><th>campaign</th><th>advertiser</th><th>status</th><th>severity</th><th>index*</th><th>spend</th><th>budget</th></tr>"
    return f'<div class="scroll"><table class="list">{head}{rows}</table></div><p class="note">* {esc(PACING_INDEX_NOTE)}</p>'


CSS = """
*{box-sizing:border-box}html,body{max-width:100%;overflow-wrap:anywhere}
body{margin:0;font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#0f172a;background:#f1f5f9}
header{padding:20px 32px;background:#0f172a;color:#f8fafc;width:100%}
header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#cbd5e1}
main{padding:20px 32px;display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:20px}
main>*{min-width:0}
.card{background:#fff;border-radius:10px;padding:16px 18px;box-shadow:0 1px 3px rgba(15,23,42,.08)}
.card h2{margin:0 0 10px;font-size:16px}.wide{grid-column:1/-1}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:14px}
.tile{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 3px rgba(15,23,42,.08);min-width:0}
.tl{color:#64748b;font-size:12px;text-transform:uppercase;letter-spacing:.04em}.tv{font-size:24px;font-weight:650}
.delta{font-size:12px}.up{color:#059669}.down{color:#dc2626}
svg.chart{display:block;max-width:100%;height:auto}
.axis{font-size:12px;fill:#64748b}
.legend{display:flex;flex-wrap:wrap;gap:6px 12px;margin:0 0 6px;font-size:12px;color:#334155}
.key i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px}
.bars{display:grid;gap:6px;font-size:12px}
.bar{display:grid;grid-template-columns:minmax(0,15em) minmax(0,1fr) auto;gap:8px;align-items:center}
.bl{text-align:right;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.bt{display:block;height:20px}.bt i{display:block;height:100%;border-radius:3px}.bv{color:#334155;white-space:nowrap}
.share{display:flex;height:40px;border-radius:4px;overflow:hidden;margin:4px 0 8px}
.share i{display:flex;align-items:center;justify-content:center;color:#fff;font-size:12px;font-weight:600;font-style:normal;min-width:0;overflow:hidden}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:5px 8px;text-align:left}
th,td{white-space:nowrap;overflow-wrap:normal}
.heat td{text-align:center;border:2px solid #fff}.heat td.na{color:#94a3b8}.num{text-align:right}
.list td,.list th{border-bottom:1px solid #e2e8f0}.list td.n{text-align:right}
.card h3{margin:12px 0 6px;font-size:13px;color:#334155}
.note{margin:8px 0 0;font-size:12px;color:#64748b}
ul{margin:0;padding-left:20px}li{margin:4px 0}
@media (max-width:600px){
header{padding:14px 16px}header h1{font-size:19px}
main{grid-template-columns:minmax(0,1fr);padding:12px;gap:12px}
.card{padding:12px}
.tiles{grid-template-columns:repeat(2,minmax(0,1fr));gap:10px}.tile{padding:10px 12px}.tv{font-size:19px}
.axis{font-size:21px}svg.chart circle{r:6px}svg.chart polyline{stroke-width:4px}
.bar{grid-template-columns:minmax(0,1fr) auto;grid-template-areas:"l v" "t t";gap:2px 8px}
.bl{grid-area:l;text-align:left}.bt{grid-area:t;height:14px}.bv{grid-area:v}
th,td{padding:4px 4px}table{font-size:11px}
}
"""


def render_dashboard(d: ReportData, findings: Sequence[str], generated_at: str) -> str:
    """The whole dashboard as one HTML string."""
    dates = [str(r["event_date"]) for r in d.daily]
    last = d.latest_complete  # tiles never show a trailing partial day
    day = last["event_date"]
    tiles = "".join(
        [
            tile(f"Active users {day}", fmt_int(last["active_users"]), last["active_users_dod"]),
            tile("7-day active users", fmt_int(last["rolling_7d_active_users"])),
            tile(f"Watch hours {day}", fmt_hours(last["watch_hours"]), last["watch_hours_dod"]),
            tile(f"Ad revenue {day}", fmt_usd(last["ad_revenue_usd"]), last["ad_revenue_dod"]),
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
    titles_chart = hbar_chart([(r["title"], r["watch_hours"] or 0.0, fmt_hours(r["watch_hours"])) for r in d.top_titles])
    mix, colors = genre_mix([(r["genre"], r["watch_hours"] or 0.0) for r in d.genres])
    genre_chart = share_bar(mix, colors) + '<h3>Plays by genre</h3>' + hbar_chart(
        [(r["genre"], r["plays"] or 0, f"{fmt_int(r['plays'])} plays") for r in d.genres], label_width=NAME_WIDTH + 8
    )
    qoe_chart = grouped_bars(
        [r["device_type"] for r in d.devices],
        [
            ("Video start failure", [r["video_start_failure_rate"] for r in d.devices]),
            ("Exit before start", [r["exit_before_start_rate"] for r in d.devices]),
            ("Playback failure", [r["playback_failure_rate"] for r in d.devices]),
        ],
    )
    ads_chart = hbar_chart(
        [(r["placement"], r["revenue_usd"] or 0.0, f"{fmt_usd(r['revenue_usd'])} · eCPM {fmt_usd(r['ecpm_usd'])}")
         for r in d.placements],
        label_width=NAME_WIDTH,
    )
    w, p = d.window, d.partial_day
    # esc() trims, so the separating spaces stay outside it
    partial = (
        " · " + esc(f"{p.event_date} is a partial day (spill-over only, {plural(p.attempts, 'session')}); "
                    f"tiles show {day}, the latest complete day") if p else ""
    )
    top_alerts = " " + esc(f"(top {TOP_ALERTS} of {len(d.alerts)})") if len(d.alerts) > TOP_ALERTS else ""
    items = "".join(f"<li>{esc(f, FINDING_MAX)}</li>" for f in findings)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OTT analytics dashboard</title>
<style>{CSS}</style></head>
<body>
<header><h1>OTT analytics dashboard</h1>
<p>Data window {esc(w.first_date)} to {esc(w.last_date)} ({esc(plural(w.days, 'day'))}){partial} · generated at {esc(cut(generated_at, 40))}</p></header>
<main>
<div class="tiles wide">{tiles}</div>
<section class="card"><h2>Daily and 7-day active users</h2>{users_chart}</section>
<section class="card"><h2>Watch hours per day</h2>{hours_chart}</section>
<section class="card"><h2>Top titles by watch hours</h2>{titles_chart}</section>
<section class="card"><h2>Genre mix (share of watch time, plays)</h2>{genre_chart}</section>
<section class="card"><h2>Quality of experience by device (whole window)</h2>{qoe_chart}</section>
<section class="card"><h2>Ad revenue by placement</h2>{ads_chart}</section>
<section class="card"><h2>Retention by signup-week cohort</h2>{heat_map(d.retention)}</section>
<section class="card"><h2>Campaign pacing alerts{top_alerts}</h2>{alerts_table(d)}</section>
<section class="card wide"><h2>Findings</h2><ul>{items}</ul></section>
</main></body></html>
"""
