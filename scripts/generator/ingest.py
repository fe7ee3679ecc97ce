"""From clean events to bronze lines: ingest dates, late arrivals, replays, duplicates,
injected defects and contract-valid formatting variety — with exact counts.

``ingest_day(...)`` returns, per dataset and per ``dt`` the day writes into, the CSV
lines (already in file order) and the manifest counts of exactly those lines.

Rules that keep the counts exact (SPEC §4, §10):
- every row's ``dt`` is the UTC date of its event_ts (so a session crossing midnight
  spills into the next dt), or 1–3 days later for late arrivals: a clean row is never
  "future" for its dt;
- exact duplicates are copies of clean rows in the same dt (→ ``duplicates_dropped``);
  replays are copies of other clean rows in a later dt (→ ``cross_partition_duplicates``
  there, and valid rows of that dt); no clean row is both, and none is copied twice;
- a defect is an EXTRA row cloned from a clean row with a fresh event_id (never a
  valid row's id), changed in one way that triggers exactly its reason and none
  earlier in the SPEC §4 order; it lands in its source row's dt.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from beam_pipelines.schema import (
    AD_EVENT_TYPES,
    AD_PLACEMENTS,
    BRONZE_COLUMNS,
    DEVICE_TYPES,
    PLAYBACK_EVENT_TYPES,
    QUARANTINE_REASONS,
)
from scripts.generator import sessions as sim
from scripts.generator.dims import COUNTRIES, Dims
from scripts.generator.render import (
    MS_PER_DAY,
    TS_EPOCH,
    TS_LOWER_Z,
    TS_MICRO,
    TS_NOFRAC,
    TS_OFFSET,
    TS_SPACE,
    header_bytes,
    id_cells,
    int_cells,
    join_lines,
    ordered_chunks,
    take,
    ts_cells,
    vocab,
)

P_LATE, P_DUPLICATE, P_REPLAY = 0.01, 0.004, 0.002
PLAYBACK_REASONS = ("malformed", "missing_field", "invalid_timestamp", "invalid_enum", "out_of_range",
                    "future_timestamp", "unknown_user", "unknown_content")
# ad_events has no integer column, so out_of_range cannot occur there.
AD_REASONS = ("malformed", "missing_field", "invalid_timestamp", "invalid_enum", "future_timestamp",
              "unknown_user", "unknown_campaign")
# the alternative ad_events layout (odd generation days): reordered columns + one extra
AD_HEADER_V2 = ["event_ts", "event_type", "placement", "event_id", "session_id", "user_id", "campaign_id",
                "device_type", "country", "sdk"]

# CSV-quoted vocabularies the columns are built from (by index)
PLACEMENT_PRE = 0  # index of pre_roll in AD_PLACEMENTS ("Pre Roll" spelling)
OS_CELLS, APP_CELLS, ERROR_CELLS = vocab(sim.OS_VOCAB), vocab(sim.APP_VERSIONS), vocab(sim.ERROR_CODES)
COUNTRY_CELLS = vocab(list(COUNTRIES) + [c.lower() for c in COUNTRIES])
FATAL_CELLS = vocab(["false", "true", "False", "TRUE"])
BITRATE_CELLS = vocab([str(v) for v in sim.LADDER_KBPS])
# every (bitrate or null) × (error_code or null) × (error_fatal spelling or null), joined
TAIL_CELLS = pa.array([
    ",".join([rate, code, fatal])
    for rate in [""] + BITRATE_CELLS.to_pylist()
    for code in [""] + ERROR_CELLS.to_pylist()
    for fatal in [""] + FATAL_CELLS.to_pylist()
], pa.string())


def _spellings(values: tuple[str, ...]) -> tuple[list[str], int]:
    """[canonical…, UPPER/Title variants…, hyphen/space variants…] (all contract-valid)."""
    upper = [v.upper() if i % 2 else v.title() for i, v in enumerate(values)]
    spaced = [(" " + v.replace("_", " ") + " ") if i % 2 else v.replace("_", "-") for i, v in enumerate(values)]
    return list(values) + upper + spaced, len(values)


def _variant(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """0 = canonical spelling; 1 or 2 = a variant, for a share ``p`` of rows."""
    r = rng.random(n)
    return np.where(r < p / 2, 1, np.where(r < p, 2, 0))


def _ts_variant(rng: np.random.Generator, n: int, allow_nofrac: np.ndarray) -> np.ndarray:
    """Timestamp spellings: ~89 % canonical, the rest spread over the valid forms."""
    r = rng.random(n)
    v = np.zeros(n, np.int8)
    for code, upto in ((TS_SPACE, 0.03), (TS_MICRO, 0.05), (TS_LOWER_Z, 0.06), (TS_OFFSET, 0.09), (TS_EPOCH, 0.11)):
        v[(v == 0) & (r < upto)] = code
    v[(v == 0) & allow_nofrac & (r > 0.99)] = TS_NOFRAC
    return v


class _Cells(dict):
    """column name → pa.StringArray of cells (null = empty)."""

    def take_rows(self, idx: np.ndarray) -> "_Cells":
        ix = pa.array(idx)
        return _Cells({k: v.take(ix) for k, v in self.items()})

    def set(self, col: str, mask: np.ndarray, values: pa.Array | str | None) -> None:
        if not mask.any():
            return
        if values is None or isinstance(values, str):
            values = pa.scalar(values, pa.string())
        self[col] = pc.if_else(pa.array(mask), values, self[col])


class _PlaybackRows:
    """Playback rows as numpy codes + vocabularies, rendered on demand.

    ``bulk()`` renders every row in the contract's column order, joining the columns that
    are constant within a session (``session_id,user_id,content_id`` and
    ``device_type,os,app_version,country``) once per session — a session's SDK spells
    them the same way on every event — so the long per-event join has 9 parts, not 14.
    ``cells(idx)`` renders single columns for a few rows (the defect templates).
    """

    def __init__(self, dims: Dims, ev: sim.DayEvents, ymd: str, rng: np.random.Generator):
        pb, ss = ev.playback, ev.sessions
        n = len(pb["ts"])
        order = np.argsort((pb["ts"] << 4) | pb["etype"], kind="stable")
        self.pb = {k: v[order] for k, v in pb.items()}
        self.ms = self.pb["ts"]
        self.n, self.ymd = n, ymd
        n_s = len(ss["user"])
        et_vocab, et_n = _spellings(PLAYBACK_EVENT_TYPES)
        dv_vocab, dv_n = _spellings(DEVICE_TYPES)
        self.et_vocab, self.dv_vocab = vocab(et_vocab), vocab(dv_vocab)
        self.et_code = self.pb["etype"] + et_n * _variant(rng, n, 0.015)
        self.ts_variant = _ts_variant(rng, n, self.pb["etype"] == sim.HEARTBEAT)
        self.ts_offset, self.ts_micro = rng.integers(0, 8, n), rng.integers(0, 1000, n)
        self.fatal_code = np.maximum(self.pb["err_fatal"], 0) + 2 * (rng.random(n) < 0.05)
        # per session
        self.s_dev = ss["device"] + dv_n * _variant(rng, n_s, 0.03)
        self.s_country = dims.user_country[ss["user"]] + len(COUNTRIES) * (rng.random(n_s) < 0.02)
        users = dims.user_cells.take(pa.array(ss["user"]))
        padded = rng.random(n_s) < 0.005  # " u0000123 " — trimmed by silver
        self.s_user = pc.if_else(pa.array(padded), pc.binary_join_element_wise(" ", users, " ", ""), users)
        self.s_session = id_cells(f"ses-{ymd}-", ss["sess_no"], 6)
        self.s_content = dims.content_cells.take(pa.array(ss["content"]))
        self.s_os, self.s_app = ss["os"], ss["app"]

    def _session_cols(self) -> dict[str, pa.Array]:
        return {
            "session_id": self.s_session, "user_id": self.s_user, "content_id": self.s_content,
            "device_type": take(self.dv_vocab, self.s_dev), "os": take(OS_CELLS, self.s_os),
            "app_version": take(APP_CELLS, self.s_app), "country": take(COUNTRY_CELLS, self.s_country),
        }

    def _row_cols(self, idx: np.ndarray | None) -> dict[str, pa.Array]:
        pick = (lambda a: a) if idx is None else (lambda a: a[idx])
        pb = self.pb
        pos, rate, err, fatal = pick(pb["pos"]), pick(pb["bitrate"]), pick(pb["err_code"]), pick(pb["err_fatal"])
        return {
            "event_id": id_cells(f"pb-{self.ymd}-", pick(np.arange(self.n)), 8),
            "event_type": take(self.et_vocab, pick(self.et_code)),
            "event_ts": ts_cells(pick(self.ms), pick(self.ts_variant), pick(self.ts_offset), pick(self.ts_micro)),
            "position_sec": int_cells(pos, pos < 0),
            "bitrate_kbps": take(BITRATE_CELLS, np.searchsorted(sim.LADDER_KBPS, np.maximum(rate, 0)), rate < 0),
            "error_code": take(ERROR_CELLS, np.maximum(err, 0), err < 0),
            "error_fatal": take(FATAL_CELLS, pick(self.fatal_code), fatal < 0),
        }

    def bulk(self, header: list[str]) -> list[pa.Array]:
        assert header == list(BRONZE_COLUMNS["playback_events"])
        s = self._session_cols()
        block1 = join_lines([s["session_id"], s["user_id"], s["content_id"]], "")
        block2 = join_lines([s["device_type"], s["os"], s["app_version"], s["country"]], "")
        sess = pa.array(self.pb["sess"])
        pb = self.pb
        # bitrate_kbps,error_code,error_fatal come from small vocabularies: one combined
        # lookup ("8000,,", ",CDN_5XX,true", …) instead of three columns in the join
        rate = np.where(pb["bitrate"] < 0, 0, np.searchsorted(sim.LADDER_KBPS, pb["bitrate"]) + 1)
        tail = (rate * (len(ERROR_CELLS) + 1) + 1 + pb["err_code"]) * (len(FATAL_CELLS) + 1) + np.where(
            pb["err_fatal"] < 0, 0, self.fatal_code + 1)
        return [id_cells(f"pb-{self.ymd}-", np.arange(self.n), 8), block1.take(sess),
                take(self.et_vocab, self.et_code), ts_cells(self.ms, self.ts_variant, self.ts_offset, self.ts_micro),
                block2.take(sess), int_cells(pb["pos"], pb["pos"] < 0), take(TAIL_CELLS, tail)]

    def cells(self, idx: np.ndarray) -> "_Cells":
        sess = pa.array(self.pb["sess"][idx])
        out = _Cells({k: v.take(sess) for k, v in self._session_cols().items()})
        out.update(self._row_cols(idx))
        return _Cells({c: out[c] for c in BRONZE_COLUMNS["playback_events"]})


class _AdRows:
    """Ad rows: every column rendered up front (ads are ~12 % of the events)."""

    def __init__(self, cells: "_Cells", ms: np.ndarray):
        self.all, self.ms, self.n = cells, ms, len(ms)

    def bulk(self, header: list[str]) -> list[pa.Array]:
        return _in_order(self.all, header)

    def cells(self, idx: np.ndarray) -> "_Cells":
        return self.all.take_rows(idx)


def _ad_cells(dims: Dims, ev: sim.DayEvents, ymd: str, rng: np.random.Generator) -> tuple[_Cells, np.ndarray, dict]:
    ad = ev.ads
    order = np.argsort((ad["ts"] << 4) | ad["etype"], kind="stable")
    ad = {k: v[order] for k, v in ad.items()}
    n = len(ad["ts"])
    pl_vocab, pl_n = _spellings(AD_PLACEMENTS)
    pl_vocab[pl_n + PLACEMENT_PRE] = "Pre Roll"
    et_vocab, et_n = _spellings(AD_EVENT_TYPES)
    dv_vocab, dv_n = _spellings(DEVICE_TYPES)
    no_sess = ad["sess"] < 0
    cells = _Cells(
        event_id=id_cells(f"ad-{ymd}-", np.arange(n), 8),
        session_id=take(id_cells(f"ses-{ymd}-", ev.sessions["sess_no"], 6), np.maximum(ad["sess"], 0), no_sess),
        user_id=take(dims.user_cells, ad["user"]),
        campaign_id=take(dims.campaign_cells, np.maximum(ad["campaign"], 0), ad["campaign"] < 0),
        placement=take(vocab(pl_vocab), ad["placement"] + pl_n * _variant(rng, n, 0.03)),
        event_type=take(vocab(et_vocab), ad["etype"] + et_n * _variant(rng, n, 0.015)),
        event_ts=ts_cells(ad["ts"], _ts_variant(rng, n, np.zeros(n, bool)), rng.integers(0, 8, n),
                          rng.integers(0, 1000, n)),
        device_type=take(vocab(dv_vocab), ad["device"] + dv_n * _variant(rng, n, 0.02)),
        country=take(vocab(list(COUNTRIES) + [c.lower() for c in COUNTRIES]),
                     dims.user_country[ad["user"]] + len(COUNTRIES) * (rng.random(n) < 0.02)),
    )
    safe = (ad["sess"] >= 0) & (ad["campaign"] >= 0) & (ad["etype"] != sim.AD_REQUEST)
    return cells, ad["ts"], {"full": safe}




def _bad_timestamps(ms: np.ndarray, j: np.ndarray) -> pa.Array:
    """Unparseable event_ts text, several kinds (no offset, ±HHMM, no seconds, garbage…)."""
    main = ts_cells(ms)
    no_zone = pc.utf8_slice_codeunits(main, 0, 23)
    forms = [
        no_zone,
        pc.binary_join_element_wise(no_zone, "+0100", ""),
        pc.binary_join_element_wise(pc.utf8_slice_codeunits(main, 0, 16), "Z", ""),
        pc.binary_join_element_wise(pc.cast(pa.array(ms), pa.string()), ".5", ""),
        pa.array(np.full(len(ms), "N/A", object), pa.string()),
        pa.array(np.full(len(ms), "2026-02-30T12:00:00Z", object), pa.string()),
        pa.array(np.full(len(ms), "null", object), pa.string()),
    ]
    out = forms[0]
    for k in range(1, len(forms)):
        out = pc.if_else(pa.array(j % len(forms) == k), forms[k], out)
    return out


def _future_timestamps(dt: np.ndarray, j: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """event_ts ≥ (dt + 1 day) 01:00 UTC — some exactly on the boundary, one in an offset."""
    boundary = (dt + 1) * MS_PER_DAY + 3_600_000
    ms = np.where(j % 5 < 2, boundary, boundary + rng.integers(0, 3 * MS_PER_DAY, len(dt)))
    variant = np.where(j % 5 == 1, TS_OFFSET, 0).astype(np.int8)
    return ts_cells(ms, variant, np.full(len(dt), 1))  # offset index 1 = +02:00


def _pick(rng: np.random.Generator, pool: np.ndarray, k: int) -> np.ndarray:
    if len(pool) == 0 or k == 0:
        return np.zeros(0, np.int64)
    return pool[rng.integers(0, len(pool), k)]


def _defects(dataset: str, dims: Dims, rows_: "_PlaybackRows | _AdRows", ms: np.ndarray, dt: np.ndarray, key: np.ndarray,
             safe: np.ndarray, n_defects: int, ymd: str, rng: np.random.Generator):
    """Defect rows (cells, dt, sort key, reason index, malformed flag)."""
    reasons = PLAYBACK_REASONS if dataset == "playback_events" else AD_REASONS
    per = np.bincount(rng.integers(0, len(reasons), n_defects), minlength=len(reasons))
    all_rows = np.arange(len(ms))
    srcs, reason_of = [], []
    for r, k in enumerate(per):
        needs_safe = dataset == "ad_events" and reasons[r] in ("missing_field", "invalid_enum", "unknown_campaign")
        pool = np.flatnonzero(safe) if needs_safe else all_rows
        picked = _pick(rng, pool, int(k))
        srcs.append(picked)
        reason_of.append(np.full(len(picked), r))
    src = np.concatenate(srcs).astype(np.int64)
    reason = np.concatenate(reason_of).astype(np.int64)
    d = rows_.cells(src)
    m = len(src)
    j = np.arange(m)
    prefix = "pb" if dataset == "playback_events" else "ad"
    d["event_id"] = id_cells(f"{prefix}-{ymd}-9", np.arange(m), 7)  # a range clean rows never use
    name = np.array(reasons)[reason] if m else np.array([], str)

    rows = name == "missing_field"
    if dataset == "playback_events":
        targets = ["event_id", "session_id", "user_id", "content_id", "event_type", "event_ts", "device_type"]
    else:
        targets = ["event_id", "user_id", "placement", "event_type", "event_ts", "device_type",
                   "session_id", "campaign_id"]
    for t_i, col in enumerate(targets):
        d.set(col, rows & (j % len(targets) == t_i), "  " if t_i % 3 == 1 else None)

    rows = name == "invalid_timestamp"
    d.set("event_ts", rows, _bad_timestamps(ms[src], j))
    rows = name == "future_timestamp"
    d.set("event_ts", rows, _future_timestamps(dt[src], j, rng))

    rows = name == "invalid_enum"
    bad_type = pa.array(np.array(["playing", "start", "heartbeat_v2", "view"], object)[j % 4], pa.string())
    bad_dev = pa.array(np.array(["fridge", "smartwatch", "vr headset"], object)[j % 3], pa.string())
    d.set("event_type", rows & (j % 3 == 0), bad_type)
    d.set("device_type", rows & (j % 3 == 1), bad_dev)
    if dataset == "playback_events":
        d.set("error_fatal", rows & (j % 3 == 2), pa.array(np.array(["yes", "maybe", "1"], object)[j % 3], pa.string()))
        rows = name == "out_of_range"
        d.set("position_sec", rows & (j % 2 == 0), pa.array(np.array(["-5", "12.5", "1e3", "abc"], object)[j % 4]))
        d.set("bitrate_kbps", rows & (j % 2 == 1), pa.array(np.array(["0", "250000", "-1", "hd"], object)[j % 4]))
        ghosts = list(dims.bad_content_ids) + [f"c{990000 + i}" for i in range(5)]
        d.set("content_id", name == "unknown_content", pa.array(np.array(ghosts, object)[j % len(ghosts)]))
    else:
        d.set("placement", rows & (j % 3 == 2), pa.array(np.array(["banner", "midroll", "interstitial"], object)[j % 3]))
        ghosts = list(dims.bad_campaign_ids) + [f"cmp9{i:03d}" for i in range(5)]
        d.set("campaign_id", name == "unknown_campaign", pa.array(np.array(ghosts, object)[j % len(ghosts)]))
    width = len(dims.user_ids[0]) - 1
    base = 2 * len(dims.user_ids) + 1000
    ghosts = list(dims.bad_user_ids) + [f"u{base + i:0{width}d}" for i in range(5)]
    d.set("user_id", name == "unknown_user", pa.array(np.array(ghosts, object)[j % len(ghosts)]))
    return d, dt[src], key[src] + 1, reason, name == "malformed"


def ingest_dataset(dataset: str, dims: Dims, rows_: "_PlaybackRows | _AdRows", ms: np.ndarray, safe: np.ndarray,
                   defect_rate: float, ymd: str, rng: np.random.Generator, header: list[str], eol: str):
    """Lines and counts per dt of one dataset of one generation day."""
    n = len(ms)
    dt = ms // MS_PER_DAY
    key = ms.copy()
    late = rng.random(n) < P_LATE
    dt[late] += rng.integers(1, 4, late.sum())
    key[late] = dt[late] * MS_PER_DAY + rng.integers(0, MS_PER_DAY, late.sum())

    chosen = rng.permutation(n)
    n_dup, n_rep = rng.binomial(n, P_DUPLICATE), rng.binomial(n, P_REPLAY)
    dup_src = np.sort(chosen[:n_dup])
    rep_src = np.sort(chosen[n_dup:n_dup + n_rep])
    dup_key = key[dup_src] + rng.integers(1_000, 600_000, n_dup)
    rep_dt = dt[rep_src] + rng.integers(1, 4, n_rep)
    rep_key = rep_dt * MS_PER_DAY + rng.integers(0, MS_PER_DAY, n_rep)

    n_def = rng.binomial(n, defect_rate) if defect_rate > 0 else 0
    d_cells, d_dt, d_key, d_reason, d_malformed = _defects(dataset, dims, rows_, ms, dt, key, safe, n_def, ymd, rng)

    # clean lines are built once; duplicates and replays are copies of those lines
    lines_clean = join_lines(rows_.bulk(header), eol)
    good = ~d_malformed
    lines_def = join_lines(_in_order(d_cells.take_rows(np.flatnonzero(good)), header), eol)
    mal = _in_order(d_cells.take_rows(np.flatnonzero(d_malformed)), header)
    k_mal = int(d_malformed.sum())
    drop = np.arange(k_mal) % 2 == 0
    short = join_lines(mal[:-1], eol)  # one field short …
    long_ = join_lines(mal + [pa.array(["x"] * k_mal, pa.string())], eol)  # … or one too many
    lines_mal = pc.if_else(pa.array(drop), short, long_)

    lines_extra = pa.concat_arrays([lines_def, lines_mal])
    copies = np.concatenate([dup_src, rep_src])
    n_def, n_lines = len(d_dt), n + len(d_dt)
    # row numbers into `lines` for every output row: clean, duplicates, replays, defects
    line_of = np.concatenate([np.arange(n), copies, n + np.arange(n_def)])
    all_dt = np.concatenate([dt, dt[dup_src], rep_dt, d_dt[good], d_dt[d_malformed]])
    all_key = np.concatenate([key, dup_key, rep_key, d_key[good], d_key[d_malformed]])
    kind = np.concatenate([np.zeros(n), np.full(n_dup, 1), np.full(n_rep, 2),
                           np.full(n_def, 3)]).astype(np.int8)
    reason = np.concatenate([np.full(n + n_dup + n_rep, -1), d_reason[good], d_reason[d_malformed]])
    late_all = np.concatenate([late, np.zeros(n_dup + n_rep + n_def, bool)])
    assert len(lines_clean) + len(lines_extra) == n_lines

    reasons = PLAYBACK_REASONS if dataset == "playback_events" else AD_REASONS
    # file order: dt, then arrival key (within [dt 00:00, dt+1 00:10)), then row number
    order = np.argsort((all_dt << 32) | (all_key - all_dt * MS_PER_DAY), kind="stable")
    sorted_dt = all_dt[order]
    sorted_line = line_of[order]
    out = {}
    for day in np.unique(sorted_dt):
        lo, hi = np.searchsorted(sorted_dt, day, "left"), np.searchsorted(sorted_dt, day, "right")
        rows = order[lo:hi]
        counts = {"rows_written": int(hi - lo)}
        for r in QUARANTINE_REASONS:
            counts[r] = int((reason[rows] == reasons.index(r)).sum()) if r in reasons else 0
        counts["rows_quarantined"] = sum(counts[r] for r in QUARANTINE_REASONS)
        counts["duplicates_within_partition"] = int((kind[rows] == 1).sum())
        counts["cross_partition_replays"] = int((kind[rows] == 2).sum())
        counts["rows_valid"] = counts["rows_written"] - counts["rows_quarantined"] - counts["duplicates_within_partition"]
        counts["late_events"] = int(late_all[rows].sum())
        out[int(day)] = (ordered_chunks([lines_clean, lines_extra], sorted_line[lo:hi]), counts)
    return out


def _in_order(cells: _Cells, header: list[str]) -> list[pa.Array]:
    """Cells in header order; a header column the simulation does not produce (the extra
    ``sdk`` column of the alternative ad layout) gets a constant value."""
    n = len(next(iter(cells.values())))
    return [cells[c] if c in cells else pa.array(np.full(n, "ott-sdk/7.2", object), pa.string()) for c in header]


def ingest_day(dims: Dims, ev: sim.DayEvents, day: int, defect_rate: float,
               rng: np.random.Generator) -> dict[str, dict[int, tuple[bytes, dict]]]:
    """Per dataset, per dt (days since epoch): (file bytes, manifest counts)."""
    ymd = str(np.datetime64(day, "D")).replace("-", "")
    pb_rows = _PlaybackRows(dims, ev, ymd, rng)
    pb_cells, pb_ms = pb_rows, pb_rows.ms
    ad_all, ad_ms, ad_masks = _ad_cells(dims, ev, ymd, rng)
    ad_cells = _AdRows(ad_all, ad_ms)
    v2 = day % 2 == 1
    plans = {
        "playback_events": (pb_cells, pb_ms, np.ones(len(pb_ms), bool), list(BRONZE_COLUMNS["playback_events"]),
                            "\n", day % 2 == 0),
        "ad_events": (ad_cells, ad_ms, ad_masks["full"],
                      AD_HEADER_V2 if v2 else list(BRONZE_COLUMNS["ad_events"]), "\r\n" if v2 else "\n", False),
    }
    out: dict[str, dict[int, tuple[list, dict]]] = {}
    for dataset, (cells, ms, safe, header, eol, bom) in plans.items():
        parts = ingest_dataset(dataset, dims, cells, ms, safe, defect_rate, ymd, rng, header, eol)
        head = header_bytes(header, eol, bom)
        out[dataset] = {d: ([head, *chunks], counts) for d, (chunks, counts) in parts.items()}
    return out
