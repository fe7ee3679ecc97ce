"""One day of viewing, simulated as whole columns: sessions → playback and ad events.

``simulate_day(dims, day, n_sessions, rng)`` returns clean events (before ingestion
effects and defects) as numpy columns. The model:

- sessions start on a diurnal curve (evening peak, UTC) with a weekend uplift applied
  by the caller; users are drawn by a heavy-tailed activity weight among users who
  have signed up by that day; titles by a Zipf popularity;
- ~12 % of "chains" are binges: 3–6 consecutive episodes of one series, each starting
  10 s–20 min after the previous session ended;
- each session: play_attempt → (start failure | exit before start | video_start after
  a device-dependent startup delay) → heartbeats every 60 s of playback with position
  and bitrate, pauses/resumes, seeks, buffer_start/buffer_end pairs (rate and length
  depend on the device), bitrate changes, non-fatal errors → video_end, or a fatal
  error (playback failure). Completing sessions watch ≥ 93 % of the title.
- a session's events are laid out on a playback-time axis and mapped to wall-clock
  time by adding the pauses, rebuffers and mid-roll ad breaks that came before them
  (a grouped cumulative sum — no per-row Python).
- ads (ad_supported users only): pre-roll at each attempt, a mid-roll break every
  15 min of playback, pause-screen ads on half the pauses, post-roll after some
  video_ends, home-screen sponsorships (no session_id) before some sessions;
  requests go unfilled at realistic rates; impressions, quartiles, clicks and
  conversions follow funnels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scripts.generator.dims import DEVICE_WEIGHTS, Dims
from scripts.generator.render import MS_PER_DAY

# playback event codes = indices into schema.PLAYBACK_EVENT_TYPES
PLAY_ATTEMPT, VIDEO_START, HEARTBEAT, PAUSE, RESUME, SEEK, BUF_START, BUF_END, BITRATE, ERROR, VIDEO_END = range(11)
AD_BREAK = 11  # internal timeline marker for a mid-roll break
# ad codes = indices into schema.AD_PLACEMENTS / schema.AD_EVENT_TYPES
PRE_ROLL, MID_ROLL, POST_ROLL, PAUSE_SCREEN, HOME = range(5)
AD_REQUEST, IMPRESSION, Q1, MIDPOINT, Q3, COMPLETE, CLICK, CONVERSION = range(8)

# per device (order of schema.DEVICE_TYPES: smart_tv, mobile, desktop, tablet, console, streaming_stick)
STARTUP_MEDIAN_MS = np.array([1800.0, 1200.0, 900.0, 1100.0, 1500.0, 2300.0])
P_START_FAILURE = np.array([0.015, 0.03, 0.01, 0.02, 0.012, 0.025])
P_EXIT_BEFORE_START = np.array([0.03, 0.06, 0.04, 0.045, 0.025, 0.035])
P_PLAYBACK_FAILURE = np.array([0.01, 0.02, 0.008, 0.012, 0.008, 0.018])
REBUFFERS_PER_HOUR = np.array([2.5, 7.0, 1.8, 4.5, 2.0, 5.5])
REBUFFER_MEDIAN_MS = np.array([1500.0, 2500.0, 1200.0, 2000.0, 1300.0, 2200.0])
MAX_LADDER_STEP = np.array([7, 4, 6, 5, 7, 6])
LADDER_KBPS = np.array([400, 800, 1500, 3000, 4500, 6000, 8000, 12000])

# UTC hour-of-day weights: quiet night, lunch bump, evening peak around 19–22 h.
HOURLY = np.array([2.0, 1.2, 0.8, 0.6, 0.5, 0.6, 1.0, 1.6, 2.0, 2.2, 2.4, 2.8,
                   3.2, 3.2, 3.0, 3.2, 3.8, 4.6, 5.8, 7.2, 8.0, 7.6, 5.8, 3.6])
HOURLY = HOURLY / HOURLY.sum()

OS_BY_DEVICE = (("Tizen", "webOS", "Android TV", "Roku OS"), ("iOS", "Android"),
                ("Windows", "macOS", "Linux"), ("iPadOS", "Android"), ("PlayStation", "Xbox"),
                ("Fire OS", "Roku OS", "Google TV"))
OS_VOCAB = tuple(os for group in OS_BY_DEVICE for os in group)
OS_START = np.cumsum([0] + [len(g) for g in OS_BY_DEVICE[:-1]])
OS_COUNT = np.array([len(g) for g in OS_BY_DEVICE])
APP_VERSIONS = ("5.12.0", "5.11.3", "5.10.1", "5.12.1-beta", "4.9.8, legacy", '6.0.0 "preview"')
APP_WEIGHTS = np.array([0.46, 0.27, 0.15, 0.05, 0.05, 0.02])
FATAL_CODES = ("DRM_LICENSE_FAILED", "MANIFEST_404", "NETWORK_TIMEOUT", "DECODER_INIT_FAILED, HW", "CDN_5XX")
NONFATAL_CODES = ("SEGMENT_RETRY", "CDN_SWITCH", "SUBTITLE_LOAD_FAILED", 'AUDIO_TRACK "und" MISSING')
ERROR_CODES = FATAL_CODES + NONFATAL_CODES

FILL_RATE = np.array([0.9, 0.85, 0.7, 0.6, 0.95])  # by placement
P_BINGE_CHAIN = 0.12
EVENTS_PER_SESSION = 51.0  # measured mean of playback + ad events per session (sizes the day)


@dataclass
class DayEvents:
    """Clean events of one generation day as numpy columns.

    sessions: user, content, device, os, app (indices), session number ``sess_no``.
    playback: sess (row into sessions), etype, ts (epoch ms), pos/bitrate (-1 = null),
    err_code (-1 = null, index into ERROR_CODES), err_fatal (-1 null, 0, 1).
    ads: sess (-1 = none), user, device, campaign (-1 = unfilled), placement, etype, ts.
    """

    sessions: dict[str, np.ndarray]
    playback: dict[str, np.ndarray]
    ads: dict[str, np.ndarray]


def _group_starts(counts: np.ndarray) -> np.ndarray:
    starts = np.zeros(len(counts), np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


def _rank_in_group(counts: np.ndarray) -> np.ndarray:
    """0,1,2… within each consecutive group of the given sizes."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(_group_starts(counts), counts)


def _grouped_cumsum(values: np.ndarray, group_first: np.ndarray, inclusive: bool) -> np.ndarray:
    """Cumulative sum restarting at each group (rows sorted by group)."""
    cs = np.cumsum(values)
    before = cs[group_first] - values[group_first]
    out = cs - before
    return out if inclusive else out - values


def _choose_sessions(dims: Dims, day: int, n_sessions: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    eligible = np.flatnonzero(dims.user_signup_day <= day)
    w = dims.user_activity[eligible]
    n_chains = max(1, int(round(n_sessions / (1 + P_BINGE_CHAIN * 3.5))))
    chain_user = eligible[rng.choice(len(eligible), n_chains, p=w / w.sum())]
    binge = rng.random(n_chains) < P_BINGE_CHAIN
    series = rng.choice(len(dims.series_first), n_chains, p=dims.series_weight)
    s_len = dims.series_len[series]
    length = np.where(binge, np.minimum(rng.integers(3, 7, n_chains), s_len), 1)
    first_ep = (rng.random(n_chains) * (s_len - length + 1)).astype(np.int64)
    hour = rng.choice(24, n_chains, p=HOURLY)
    chain_start = day * MS_PER_DAY + hour * 3_600_000 + rng.integers(0, 3_600_000, n_chains)
    own_device = rng.random(n_chains) < 0.7
    device = np.where(own_device, dims.user_device[chain_user], rng.choice(6, n_chains, p=DEVICE_WEIGHTS))
    os_ = OS_START[device] + (rng.random(n_chains) * OS_COUNT[device]).astype(np.int64)
    app = rng.choice(len(APP_VERSIONS), n_chains, p=APP_WEIGHTS)

    chain = np.repeat(np.arange(n_chains), length)
    k = _rank_in_group(length)
    single = rng.choice(len(dims.content_ids), len(chain), p=dims.content_weight)
    content = np.where(binge[chain], dims.series_first[series[chain]] + first_ep[chain] + k, single)
    return dict(chain=chain, chain_rank=k, chain_start=chain_start, binge=binge[chain], user=chain_user[chain],
                content=content, device=device[chain], os=os_[chain], app=app[chain])


def simulate_day(dims: Dims, day: int, n_sessions: int, rng: np.random.Generator) -> DayEvents:
    """Clean playback and ad events of sessions starting on ``day`` (days since epoch)."""
    s = _choose_sessions(dims, day, n_sessions, rng)
    n = len(s["user"])
    dev = s["device"]
    dur_ms = dims.content_duration[s["content"]] * 1000

    u = rng.random(n)
    start_fail = u < P_START_FAILURE[dev]
    exit_early = ~start_fail & (u < P_START_FAILURE[dev] + P_EXIT_BEFORE_START[dev])
    started = ~start_fail & ~exit_early
    play_fail = started & (rng.random(n) < P_PLAYBACK_FAILURE[dev])
    resume = ~s["binge"] & (rng.random(n) < 0.1)
    p0_ms = np.where(resume, (rng.uniform(0.1, 0.7, n) * dur_ms).astype(np.int64) // 1000 * 1000, 0)
    remaining = dur_ms - p0_ms
    complete = rng.random(n) < np.where(s["binge"], 0.8, 0.4)
    frac = np.where(complete, rng.uniform(0.93, 1.0, n), rng.beta(1.1, 2.5, n))
    frac = np.where(play_fail, rng.uniform(0.02, 0.8, n), frac)
    watch = np.maximum(10_000, (remaining * frac).astype(np.int64))
    startup = np.clip(rng.lognormal(np.log(STARTUP_MEDIAN_MS[dev]), 0.45), 200, 30_000).astype(np.int64)
    is_ad_user = dims.user_plan[s["user"]] == 0

    # ---- timeline of started sessions, in playback time t (ms after video_start)
    st = np.flatnonzero(started)
    w_st = watch[st]
    minutes = w_st / 60_000
    counts = {
        VIDEO_START: np.ones(len(st), np.int64),
        HEARTBEAT: w_st // 60_000,
        PAUSE: rng.poisson(minutes / 45),
        SEEK: rng.poisson(minutes / 50),
        BUF_START: rng.poisson(minutes / 60 * REBUFFERS_PER_HOUR[dev[st]]),
        BITRATE: rng.poisson(minutes / 15),
        ERROR: rng.poisson(minutes / 240),
        VIDEO_END: np.ones(len(st), np.int64),
        AD_BREAK: np.where(is_ad_user[st], (w_st - 1) // 900_000, 0),
    }
    kinds, sess, t = [], [], []
    for kind, c in counts.items():
        rows = np.repeat(st, c)
        w_rows = np.repeat(w_st, c)
        if kind == VIDEO_START:
            tt = np.zeros(len(rows), np.int64)
        elif kind == VIDEO_END:
            tt = w_rows
        elif kind == HEARTBEAT:
            tt = (_rank_in_group(c) + 1) * 60_000
        elif kind == AD_BREAK:
            tt = (_rank_in_group(c) + 1) * 900_000
        else:
            tt = (rng.random(len(rows)) * (w_rows - 1)).astype(np.int64) + 1
        kinds.append(np.full(len(rows), kind, np.int8))
        sess.append(rows)
        t.append(tt)
    kind = np.concatenate(kinds)
    sess_t = np.concatenate(sess)
    t = np.concatenate(t)
    # one int64 key (session, playback ms, kind) sorts faster than a 3-key lexsort
    order = np.argsort((sess_t << 36) | (t << 4) | kind, kind="stable")
    kind, sess_t, t = kind[order], sess_t[order], t[order]
    m = len(kind)

    delay = np.zeros(m, np.int64)
    rows = kind == PAUSE
    delay[rows] = np.clip(rng.exponential(90_000, rows.sum()), 2_000, 1_200_000).astype(np.int64)
    rows = np.flatnonzero(kind == BUF_START)
    delay[rows] = np.clip(rng.lognormal(np.log(REBUFFER_MEDIAN_MS[dev[sess_t[rows]]]), 0.8), 200, 60_000).astype(np.int64)
    rows = np.flatnonzero(kind == AD_BREAK)
    ad_len = np.where(rng.random(len(rows)) < 0.5, 15_000, 30_000)
    break_filled = rng.random(len(rows)) < FILL_RATE[MID_ROLL]
    delay[rows] = np.where(break_filled, ad_len + 500, 0)

    seek = np.zeros(m, np.int64)
    rows = kind == SEEK
    seek[rows] = np.where(rng.random(rows.sum()) < 0.3, rng.integers(60, 120, rows.sum()),
                          rng.normal(0, 90, rows.sum()).astype(np.int64)) * 1000
    step = np.zeros(m, np.int64)
    rows = kind == BITRATE
    step[rows] = np.where(rng.random(rows.sum()) < 0.45, -1, 1)

    first = np.repeat(_group_starts(np.bincount(sess_t, minlength=n)[st]), np.bincount(sess_t, minlength=n)[st])
    wall = startup[sess_t] + t + _grouped_cumsum(delay, first, inclusive=False)
    pos_ms = p0_ms[sess_t] + t + _grouped_cumsum(seek, first, inclusive=True)
    pos = np.clip(pos_ms // 1000, 0, dur_ms[sess_t] // 1000)
    level0 = np.minimum(rng.integers(2, 8, n), MAX_LADDER_STEP[dev])
    level = np.clip(level0[sess_t] + _grouped_cumsum(step, first, inclusive=True), 0, MAX_LADDER_STEP[dev[sess_t]])
    bitrate = LADDER_KBPS[level]

    # ---- playback events: timeline rows (+ closing rows), play_attempts, start failures
    emit = kind != AD_BREAK
    ev_sess = [sess_t[emit]]
    ev_type = [kind[emit]]
    ev_rel = [wall[emit]]
    ev_pos = [pos[emit]]
    has_rate = np.isin(kind, (VIDEO_START, HEARTBEAT, BITRATE, BUF_START))
    ev_rate = [np.where(has_rate, bitrate, -1)[emit]]
    fatal_end = (kind == VIDEO_END) & play_fail[sess_t]
    ev_type[0] = np.where(fatal_end[emit], ERROR, ev_type[0]).astype(np.int8)
    ev_fatal = [np.where(fatal_end, 1, np.where(kind == ERROR, 0, -1))[emit]]
    code = np.where(fatal_end, rng.integers(0, len(FATAL_CODES), m),
                    len(FATAL_CODES) + rng.integers(0, len(NONFATAL_CODES), m))
    ev_code = [np.where((kind == ERROR) | fatal_end, code, -1)[emit]]
    for open_kind, close_kind in ((PAUSE, RESUME), (BUF_START, BUF_END)):
        rows = kind == open_kind
        ev_sess.append(sess_t[rows])
        ev_type.append(np.full(rows.sum(), close_kind, np.int8))
        ev_rel.append(wall[rows] + delay[rows])
        ev_pos.append(pos[rows])
        ev_rate.append(bitrate[rows] if close_kind == BUF_END else np.full(rows.sum(), -1))
        ev_fatal.append(np.full(rows.sum(), -1))
        ev_code.append(np.full(rows.sum(), -1))
    every = np.arange(n)
    ev_sess.append(every)
    ev_type.append(np.full(n, PLAY_ATTEMPT, np.int8))
    ev_rel.append(np.zeros(n, np.int64))
    ev_pos.append(np.where(started, p0_ms // 1000, -1))
    ev_rate.append(np.full(n, -1))
    ev_fatal.append(np.full(n, -1))
    ev_code.append(np.full(n, -1))
    sf = np.flatnonzero(start_fail)
    ev_sess.append(sf)
    ev_type.append(np.full(len(sf), ERROR, np.int8))
    ev_rel.append(np.clip(rng.lognormal(np.log(4000), 0.6, len(sf)), 300, 60_000).astype(np.int64))
    ev_pos.append(np.full(len(sf), -1))
    ev_rate.append(np.full(len(sf), -1))
    ev_fatal.append(np.ones(len(sf), np.int64))
    ev_code.append(rng.integers(0, len(FATAL_CODES), len(sf)))

    pb_sess = np.concatenate(ev_sess)
    pb_rel = np.concatenate(ev_rel)

    # ---- chain timing: each session of a chain starts after the previous one ended
    rel_end = np.zeros(n, np.int64)
    np.maximum.at(rel_end, pb_sess, pb_rel)
    gap = rng.integers(10_000, 1_200_000, n)
    chain_counts = np.bincount(s["chain"])
    chain_first = np.repeat(_group_starts(chain_counts), chain_counts)
    sess_start = s["chain_start"][s["chain"]] + _grouped_cumsum(rel_end + gap, chain_first, inclusive=False)

    playback = dict(sess=pb_sess, etype=np.concatenate(ev_type), ts=sess_start[pb_sess] + pb_rel,
                    pos=np.concatenate(ev_pos), bitrate=np.concatenate(ev_rate),
                    err_code=np.concatenate(ev_code), err_fatal=np.concatenate(ev_fatal))

    # ---- ad opportunities
    ad_s = np.flatnonzero(is_ad_user)
    opp_sess, opp_place, opp_t, opp_fill = [], [], [], []
    opp_sess.append(ad_s)  # pre-roll on every attempt
    opp_place.append(np.full(len(ad_s), PRE_ROLL))
    opp_t.append(sess_start[ad_s] + rng.integers(50, 300, len(ad_s)))
    opp_fill.append(rng.random(len(ad_s)) < FILL_RATE[PRE_ROLL])
    brk = np.flatnonzero(kind == AD_BREAK)  # mid-rolls (already ad users only)
    opp_sess.append(sess_t[brk])
    opp_place.append(np.full(len(brk), MID_ROLL))
    opp_t.append(sess_start[sess_t[brk]] + wall[brk])
    opp_fill.append(break_filled)
    pz = np.flatnonzero((kind == PAUSE) & is_ad_user[sess_t] & (rng.random(m) < 0.5))
    opp_sess.append(sess_t[pz])
    opp_place.append(np.full(len(pz), PAUSE_SCREEN))
    opp_t.append(sess_start[sess_t[pz]] + wall[pz] + 1500)
    opp_fill.append(rng.random(len(pz)) < FILL_RATE[PAUSE_SCREEN])
    ends = np.flatnonzero((kind == VIDEO_END) & ~play_fail[sess_t] & is_ad_user[sess_t] & (rng.random(m) < 0.3))
    opp_sess.append(sess_t[ends])
    opp_place.append(np.full(len(ends), POST_ROLL))
    opp_t.append(sess_start[sess_t[ends]] + wall[ends] + 500)
    opp_fill.append(rng.random(len(ends)) < FILL_RATE[POST_ROLL])
    home = ad_s[rng.random(len(ad_s)) < 0.3]
    before = sess_start[home] - rng.integers(5_000, 90_000, len(home))
    opp_sess.append(home)
    opp_place.append(np.full(len(home), HOME))
    opp_t.append(np.maximum(before, day * MS_PER_DAY))
    opp_fill.append(rng.random(len(home)) < FILL_RATE[HOME])

    o_sess = np.concatenate(opp_sess)
    o_place = np.concatenate(opp_place)
    o_t = np.concatenate(opp_t)
    o_fill = np.concatenate(opp_fill)
    active = np.flatnonzero((dims.campaign_start <= day) & (dims.campaign_end >= day))
    if len(active) == 0:
        o_fill[:] = False
        o_camp = np.full(len(o_sess), -1)
    else:
        wa = dims.campaign_weight[active]
        o_camp = np.where(o_fill, active[rng.choice(len(active), len(o_sess), p=wa / wa.sum())], -1)
    ads = _ad_funnel(rng, o_sess, o_place, o_t, o_camp, o_fill)
    ads["user"] = s["user"][ads["sess"]]
    ads["device"] = dev[ads["sess"]]
    ads["sess"] = np.where(ads["placement"] == HOME, -1, ads["sess"])

    sessions = dict(user=s["user"], content=s["content"], device=dev, os=s["os"], app=s["app"],
                    sess_no=np.arange(n))
    return DayEvents(sessions=sessions, playback=playback, ads=ads)


def _ad_funnel(rng, o_sess, o_place, o_t, o_camp, o_fill) -> dict[str, np.ndarray]:
    """ad_request → impression → quartiles → complete; clicks and conversions."""
    k = len(o_sess)
    video = o_place <= POST_ROLL
    ad_len = np.where(rng.random(k) < 0.5, 15_000, 30_000)
    imp_t = o_t + rng.integers(150, 900, k)
    # how far a filled video ad is watched: 0 = impression only … 4 = complete
    steps = np.column_stack([rng.random(k) < p for p in (0.96, 0.95, 0.95, 0.95)] + [np.zeros(k, bool)])
    reach = np.argmin(steps, axis=1)  # index of the first step not reached
    click = o_fill & (rng.random(k) < np.where(video, 0.02, 0.006))
    click_t = imp_t + (rng.random(k) * np.where(video, ad_len, 10_000)).astype(np.int64)
    conv = click & (rng.random(k) < 0.1)
    conv_t = click_t + rng.integers(30_000, 7_200_000, k)
    parts = [(np.ones(k, bool), AD_REQUEST, o_t), (o_fill, IMPRESSION, imp_t)]
    for q, code in enumerate((Q1, MIDPOINT, Q3, COMPLETE), start=1):
        parts.append((o_fill & video & (reach >= q), code, imp_t + ad_len * q // 4))
    parts += [(click, CLICK, click_t), (conv, CONVERSION, conv_t)]
    idx = np.concatenate([np.flatnonzero(mask) for mask, _, _ in parts])
    etype = np.concatenate([np.full(mask.sum(), code, np.int8) for mask, code, _ in parts])
    ts = np.concatenate([t[mask] for mask, _, t in parts])
    camp = o_camp[idx]
    return dict(sess=o_sess[idx], placement=o_place[idx], etype=etype, ts=ts, campaign=camp)
