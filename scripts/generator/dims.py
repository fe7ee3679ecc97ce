"""Dimension snapshots: users, content (movies + episodic series), ad campaigns.

Dimensions depend only on ``(seed, users)`` — never on the dates generated — so that
every ``ott generate --days 1`` run of a daily schedule writes the same snapshot.
Rows are few (10k users, ~4k titles, 120 campaigns), so Faker per row is fine here.

Injected dimension defects are always EXTRA rows (new keys no event references, or a
repeated valid key), so a clean event can never become ``unknown_*`` by accident.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from faker import Faker

from beam_pipelines.schema import (
    AGE_BANDS,
    BID_STRATEGIES,
    BRONZE_COLUMNS,
    DEVICE_TYPES,
    OBJECTIVES,
    PLANS,
    QUARANTINE_REASONS,
)
from scripts.generator.render import MS_PER_DAY, csv_quote, date_text, ts_cells

from scripts.generator.calendar import FLIGHT_FIRST, FLIGHT_LAST, SIGNUP_FIRST, SIGNUP_LAST

PLAN_WEIGHTS = np.array([0.38, 0.14, 0.20, 0.13, 0.10, 0.05])
AGE_WEIGHTS = np.array([0.18, 0.30, 0.24, 0.16, 0.12])
DEVICE_WEIGHTS = np.array([0.35, 0.25, 0.12, 0.08, 0.07, 0.13])  # order of DEVICE_TYPES
COUNTRIES = ("US", "GB", "DE", "FR", "ES", "IT", "BR", "MX", "CA", "IN", "JP", "AU", "NL", "SE", "PL")
COUNTRY_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR", "es_MX", "en_CA", "en_IN",
                   "ja_JP", "en_AU", "nl_NL", "sv_SE", "pl_PL")
COUNTRY_WEIGHTS = np.array([30, 10, 8, 7, 6, 5, 8, 5, 4, 6, 3, 3, 2, 1.5, 1.5])
GENRES = ("Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Family",
          "Fantasy", "Horror", "Romance", "Sci-Fi", "Thriller", "Reality")
RATINGS = ("G", "PG", "PG-13", "R", "TV-Y", "TV-PG", "TV-14", "TV-MA")
LANGUAGES = ("en", "es", "fr", "de", "ja", "ko", "pt", "it", "hi")
LANGUAGE_WEIGHTS = np.array([55, 10, 6, 5, 6, 7, 4, 3, 4])
N_MOVIES, N_SERIES, N_CAMPAIGNS = 900, 160, 120

NOUNS = ("Storm", "Signal", "Harbor", "Echo", "Frontier", "Garden", "Empire", "Shadow", "River", "Crown",
         "Winter", "Circuit", "Orchard", "Mirror", "Lantern", "Tide", "Summit", "Cipher", "Ember", "Atlas",
         "Meridian", "Paradox", "Compass", "Horizon", "Vault", "Station", "Kingdom", "Riddle", "Falcon", "Canyon")
ADJECTIVES = ("Silent", "Broken", "Golden", "Last", "Hidden", "Wild", "Midnight", "Northern", "Crimson",
              "Lost", "Electric", "Quiet", "Burning", "Frozen", "Endless", "Secret", "Little", "Savage")


@dataclass
class DimTable:
    """One dimension: valid rows as columns of CSV cells (already quoted), then the
    extra rows (defects and repeated keys, as cell lists), and the injected truth."""

    name: str
    header: list[str]
    columns: list[np.ndarray]
    extra: list[list[str]]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def n_valid(self) -> int:
        return len(self.columns[0])

    def row(self, i: int) -> list[str]:
        return [str(c[i]) for c in self.columns]


@dataclass
class Dims:
    """The dimension arrays the event simulation samples from, plus the CSV tables."""

    user_ids: np.ndarray  # str, valid users only
    user_signup_day: np.ndarray  # days since epoch
    user_plan: np.ndarray  # index into PLANS
    user_country: np.ndarray  # index into COUNTRIES
    user_device: np.ndarray  # index into DEVICE_TYPES
    user_activity: np.ndarray  # relative sessions per day
    content_ids: np.ndarray
    content_duration: np.ndarray  # seconds
    content_series: np.ndarray  # series index, -1 for movies
    content_weight: np.ndarray  # popularity of a title as a single play
    series_first: np.ndarray  # content index of each series' first episode (episodes are contiguous)
    series_len: np.ndarray
    series_weight: np.ndarray
    campaign_ids: np.ndarray
    campaign_start: np.ndarray  # days since epoch
    campaign_end: np.ndarray
    campaign_weight: np.ndarray
    bad_user_ids: list[str]  # keys present in users.csv only on quarantined rows
    bad_content_ids: list[str]
    bad_campaign_ids: list[str]
    tables: dict[str, DimTable]

    # id columns as Arrow strings (ids never need CSV quoting), built once per run
    @functools.cached_property
    def user_cells(self) -> pa.Array:
        return pa.array(self.user_ids.tolist(), pa.string())

    @functools.cached_property
    def content_cells(self) -> pa.Array:
        return pa.array(self.content_ids.tolist(), pa.string())

    @functools.cached_property
    def campaign_cells(self) -> pa.Array:
        return pa.array(self.campaign_ids.tolist(), pa.string())


def _title(rng: np.random.Generator, fake: Faker) -> str:
    """Varied titles; some carry commas or quotes so CSV quoting is exercised."""
    a, n, n2 = ADJECTIVES[rng.integers(len(ADJECTIVES))], NOUNS[rng.integers(len(NOUNS))], NOUNS[rng.integers(len(NOUNS))]
    form = rng.integers(0, 8)
    if form == 0:
        return f"The {a} {n}"
    if form == 1:
        return f"{n} of {fake.city()}"
    if form == 2:
        return f"{fake.last_name()}, {a} and {n2}"  # comma → quoted field
    if form == 3:
        return f'The "{n}" Affair'  # quotes → doubled inside a quoted field
    if form == 4:
        return f"{a} {n}: {fake.first_name()}'s Story"
    if form == 5:
        return f"{n} & {n2}"
    if form == 6:
        return f"Return to {fake.city()}"
    return f"{a} {n}"


def _spell_variant(rng: np.random.Generator, value: str, p: float) -> str:
    """Contract-valid enum spellings (case, spaces, hyphens) for a share ``p`` of rows."""
    if rng.random() >= p:
        return value
    form = rng.integers(0, 3)
    if form == 0:
        return value.upper()
    if form == 1:
        return " " + value.replace("_", " ").title() + " "
    return value.replace("_", "-").capitalize()


def _zipf_weights(rng: np.random.Generator, n: int, s: float) -> np.ndarray:
    ranks = rng.permutation(n) + 1
    w = ranks.astype(float) ** -s
    return w / w.sum()


def _reason_counts(rate: float, n_rows: int, reasons: list[str]) -> dict[str, int]:
    """Defect rows per reason (+ repeated keys) for a dimension of ``n_rows`` rows."""
    if rate <= 0:
        return {r: 0 for r in reasons}
    k = max(1, round(rate * n_rows / (len(reasons) + 1)))
    return {r: k for r in reasons}


FAKER_PROVIDERS = ["faker.providers.address", "faker.providers.person", "faker.providers.company"]


def _faker(locale: str, seed: int) -> Faker:
    """A seeded Faker with only the providers used here (building all costs ~0.5 s each)."""
    fake = Faker(locale, providers=FAKER_PROVIDERS, use_weighting=False)
    for provider in fake.get_providers():
        # it_IT builds its city list from a set, so its order (and a seeded pick from
        # it) would follow the per-process string hash seed: sort it first.
        if isinstance(getattr(provider, "cities", None), list):
            provider.cities = sorted(provider.cities)
    fake.seed_instance(seed)
    return fake


def _dup_rows(rng: np.random.Generator, table: "DimTable", k: int, ts_col: int | None) -> list[list[str]]:
    """Later copies of valid rows under the same key (a newer ``updated_at`` for users)."""
    picks = sorted(rng.choice(table.n_valid, size=min(k, table.n_valid), replace=False).tolist())
    out = []
    for i in picks:
        row = table.row(i)
        if ts_col is not None:
            row[ts_col] = row[ts_col].replace("Z", "+00:00")
        out.append(row)
    return out


def build_users(seed: int, n_users: int, defect_rate: float) -> tuple[DimTable, dict]:
    rng = np.random.default_rng([seed, 1, n_users])
    width = max(7, len(str(n_users * 2 + 1000)))
    ids = np.strings.add("u", np.strings.zfill(np.arange(1, n_users + 1).astype(str), width))
    signup = rng.integers(SIGNUP_FIRST, SIGNUP_LAST + 1, n_users)
    signup[0] = SIGNUP_FIRST  # every allowed --start-date has at least one signed-up user
    plan = rng.choice(len(PLANS), n_users, p=PLAN_WEIGHTS)
    country = rng.choice(len(COUNTRIES), n_users, p=COUNTRY_WEIGHTS / COUNTRY_WEIGHTS.sum())
    age = rng.choice(len(AGE_BANDS), n_users, p=AGE_WEIGHTS)
    device = rng.choice(len(DEVICE_TYPES), n_users, p=DEVICE_WEIGHTS)
    activity = rng.lognormal(0.0, 1.0, n_users)
    updated_ms = signup * MS_PER_DAY + rng.integers(0, 60 * MS_PER_DAY, n_users)

    # City pools per country from the country's own Faker locale (seeded → deterministic);
    # some US cities get ", ST" — a comma inside a quoted field.
    pool = np.array([[csv_quote(c) for c in (lambda f: [f.city() for _ in range(60)])(_faker(loc, seed * 1000 + k))]
                     for k, loc in enumerate(COUNTRY_LOCALES)], dtype=object)
    us = _faker("en_US", seed)
    us_comma = np.array([csv_quote(f"{us.city()}, {us.state_abbr()}") for _ in range(60)], dtype=object)
    pick = rng.integers(0, 60, n_users)
    city = np.where((country == 0) & (rng.random(n_users) < 0.05), us_comma[pick], pool[country, pick])
    plan_txt = np.array(list(PLANS) + [p.upper() for p in PLANS] + [" " + p.replace("_", " ").title() + " " for p in PLANS])
    v = rng.random(n_users)
    plan_var = np.where(v < 0.015, 1, np.where(v < 0.03, 2, 0))
    cc = np.array(list(COUNTRIES) + [c.lower() for c in COUNTRIES])
    columns = [ids, date_text(signup), plan_txt[plan + len(PLANS) * plan_var],
               cc[country + len(COUNTRIES) * (rng.random(n_users) < 0.02)], city, np.array(AGE_BANDS)[age],
               np.array(DEVICE_TYPES)[device], np.array(ts_cells(updated_ms).to_pylist(), dtype=object)]
    table = DimTable("users", list(BRONZE_COLUMNS["users"]), columns, [])

    reasons = ["malformed", "missing_field", "invalid_timestamp", "invalid_enum"]
    counts = _reason_counts(defect_rate, n_users, reasons)
    extra: list[list[str]] = []
    bad_ids: list[str] = []
    next_id = n_users + 1
    for reason in reasons:
        for j in range(counts[reason]):
            base = table.row(int(rng.integers(0, n_users)))
            key = f"u{next_id:0{width}d}"
            next_id += 1
            base[0] = key
            if reason == "malformed":
                base = base[:-1] if j % 2 == 0 else base + ["extra"]
            elif reason == "missing_field":
                base[(1, 2, 0)[j % 3]] = ("", "  ", "")[j % 3]
            elif reason == "invalid_timestamp":
                if j % 2 == 0:
                    base[1] = ("2026-02-31", "2026/03/01", "03-01-2026")[j % 3]
                else:
                    base[7] = ("yesterday", "2026-03-01T10:00:00", "2026-03-01 10:00")[j % 3]
            else:
                if j % 2 == 0:
                    base[2] = ("platinum", "free_trial", "vip")[j % 3]
                else:
                    base[5] = ("17-", "65-74", "teen")[j % 3]
            if base[0]:
                bad_ids.append(base[0])
            extra.append(base)
    dups = _dup_rows(rng, table, counts["malformed"], 7)
    counts["duplicates"] = len(dups)
    extra += dups
    table.extra = [extra[i] for i in rng.permutation(len(extra))]
    table.counts = _dim_totals(table, counts)
    arrays = dict(user_ids=ids, user_signup_day=signup, user_plan=plan, user_country=country,
                  user_device=device, user_activity=activity, bad_user_ids=bad_ids)
    return table, arrays


def build_content(seed: int, defect_rate: float) -> tuple[DimTable, dict]:
    rng = np.random.default_rng([seed, 2])
    fake = _faker("en_US", seed)
    lang_p = LANGUAGE_WEIGHTS / LANGUAGE_WEIGHTS.sum()
    rows: list[list[str]] = []
    duration, series_of, weight = [], [], []
    movie_w = _zipf_weights(rng, N_MOVIES, 1.0)
    for i in range(N_MOVIES):
        dur = int(np.clip(rng.normal(105, 20), 75, 180) * 60 + rng.integers(0, 60))
        cid = f"c{len(rows) + 1:06d}"
        genre = GENRES[rng.integers(0, len(GENRES))]
        rows.append([cid, csv_quote(_title(rng, fake)), _spell_variant(rng, "movie", 0.02), "", "", "",
                     genre, RATINGS[rng.integers(0, 4)], str(dur), str(int(rng.integers(1975, 2027))),
                     LANGUAGES[int(np.searchsorted(np.cumsum(lang_p), rng.random()))],
                     ("true" if rng.random() < 0.15 else "false")])
        duration.append(dur)
        series_of.append(-1)
        weight.append(movie_w[i])
    series_w = _zipf_weights(rng, N_SERIES, 0.9)
    series_first, series_len = [], []
    for s in range(N_SERIES):
        sid = f"s{s + 1:05d}"
        stitle = _title(rng, fake)
        genre = GENRES[rng.integers(0, len(GENRES))]
        base_len = (22, 30, 45, 55)[rng.integers(0, 4)]
        rating = RATINGS[rng.integers(4, 8)]
        lang = LANGUAGES[int(np.searchsorted(np.cumsum(lang_p), rng.random()))]
        original = "true" if rng.random() < 0.3 else "false"
        year0 = int(rng.integers(1995, 2025))
        series_first.append(len(rows))
        n_seasons = int(rng.choice([1, 2, 3, 4], p=[0.35, 0.3, 0.2, 0.15]))
        for season in range(1, n_seasons + 1):
            for ep in range(1, int(rng.integers(6, 13)) + 1):
                dur = int(base_len * 60 + rng.integers(-180, 181))
                cid = f"c{len(rows) + 1:06d}"
                title = f"{stitle}: S{season:02d}E{ep:02d}"
                if rng.random() < 0.01:
                    title = f"{stitle}:\nS{season:02d}E{ep:02d} (Director's Cut)"  # newline inside quotes
                rows.append([cid, csv_quote(title), _spell_variant(rng, "episode", 0.02), sid, str(season),
                             str(ep), genre, rating, str(dur), str(min(2026, year0 + season - 1)), lang,
                             original.upper() if rng.random() < 0.02 else original])
                duration.append(dur)
                series_of.append(s)
                weight.append(0.0)
        series_len.append(len(rows) - series_first[-1])
    n_valid = len(rows)
    weight_arr = np.array(weight)
    # Episodes are also played singly: spread each series' popularity over its episodes,
    # with the first episode of each season getting a boost.
    for s in range(N_SERIES):
        lo, ln = series_first[s], series_len[s]
        weight_arr[lo:lo + ln] = series_w[s] / ln
    weight_arr /= weight_arr.sum()

    reasons = ["malformed", "missing_field", "invalid_enum", "out_of_range"]
    counts = _reason_counts(defect_rate, n_valid, reasons)
    extra: list[list[str]] = []
    bad_ids: list[str] = []
    next_id = n_valid + 1
    for reason in reasons:
        for j in range(counts[reason]):
            # an episode row as the template, so "series_id missing" is a real missing_field
            src = series_first[int(rng.integers(0, N_SERIES))]
            base = list(rows[src])  # rows: still the list of valid rows here
            base[0] = f"c{next_id:06d}"
            next_id += 1
            base[2] = "episode"
            if reason == "malformed":
                base = base[:-2] if j % 2 == 0 else base + ["4K"]
            elif reason == "missing_field":
                base[(3, 1, 6, 8)[j % 4]] = ""
            elif reason == "invalid_enum":
                if j % 2 == 0:
                    base[2] = ("film", "short", "trailer")[j % 3]
                    base[3] = ""  # not an episode any more → series_id not required
                else:
                    base[11] = ("yes", "no", "1")[j % 3]
            else:
                col, val = [(8, "0"), (8, "-300"), (8, "2700.0"), (4, "-1"), (5, "1e2"), (9, "MMXX")][j % 6]
                base[col] = val
            bad_ids.append(base[0])
            extra.append(base)
    table = DimTable("content", list(BRONZE_COLUMNS["content"]), _columns(rows), [])
    dups = _dup_rows(rng, table, counts["malformed"], None)
    counts["duplicates"] = len(dups)
    extra += dups
    table.extra = [extra[i] for i in rng.permutation(len(extra))]
    table.counts = _dim_totals(table, counts)
    arrays = dict(content_ids=np.array([r[0] for r in rows[:n_valid]]), content_duration=np.array(duration),
                  content_series=np.array(series_of), content_weight=weight_arr,
                  series_first=np.array(series_first), series_len=np.array(series_len), series_weight=series_w,
                  bad_content_ids=bad_ids)
    return table, arrays


def build_campaigns(seed: int, n_users: int, defect_rate: float) -> tuple[DimTable, dict]:
    """Campaigns with flights spread over a fixed window; budgets scale with the audience
    (``n_users``) so pacing comes out as a mix of under / on-track / over."""
    rng = np.random.default_rng([seed, 3, n_users])
    fake = _faker("en_US", seed + 7)
    rows = []
    start = rng.integers(FLIGHT_FIRST, FLIGHT_LAST - 13, N_CAMPAIGNS)
    end = np.minimum(start + rng.integers(13, 90, N_CAMPAIGNS), FLIGHT_LAST)
    strategy = rng.choice(3, N_CAMPAIGNS, p=[0.6, 0.25, 0.15])
    bid = np.where(strategy == 0, rng.uniform(4, 35, N_CAMPAIGNS),
                   np.where(strategy == 1, rng.uniform(0.25, 2.5, N_CAMPAIGNS), rng.uniform(4, 40, N_CAMPAIGNS)))
    weight = rng.lognormal(0, 0.7, N_CAMPAIGNS)
    weight /= weight.sum()
    # expected daily spend ≈ share of the ad traffic × a spend rate per user; the budget
    # is that over the flight, times a factor around 1 (→ under / on_track / over).
    daily = weight * n_users * 0.018
    budget = np.maximum(10.0, np.round(daily * (end - start + 1) * rng.lognormal(0, 0.35, N_CAMPAIGNS), 0))
    st_txt, en_txt = date_text(start), date_text(end)
    for i in range(N_CAMPAIGNS):
        strat = BID_STRATEGIES[strategy[i]]
        rows.append([f"cmp{i + 1:04d}", csv_quote(fake.company()), OBJECTIVES[rng.integers(0, 3)],
                     strat.lower() if rng.random() < 0.05 else strat, f"{bid[i]:.2f}", f"{budget[i]:.2f}",
                     st_txt[i], en_txt[i]])
    reasons = ["malformed", "missing_field", "invalid_timestamp", "invalid_enum", "out_of_range"]
    counts = _reason_counts(defect_rate, N_CAMPAIGNS, reasons)
    extra, bad_ids = [], []
    next_id = N_CAMPAIGNS + 1
    for reason in reasons:
        for j in range(counts[reason]):
            base = list(rows[int(rng.integers(0, N_CAMPAIGNS))])
            base[0] = f"cmp{next_id:04d}"
            next_id += 1
            if reason == "malformed":
                base = base[:-1] if j % 2 == 0 else base + ["x"]
            elif reason == "missing_field":
                base[(1, 4, 7)[j % 3]] = ""
            elif reason == "invalid_timestamp":
                base[(6, 7)[j % 2]] = ("2026-13-01", "2026-09-31", "soon")[j % 3]
            elif reason == "invalid_enum":
                base[(2, 3)[j % 2]] = ("sales", "CPV", "reach")[j % 3]
            else:
                base[(4, 5)[j % 2]] = ("0", "-150.00", "0.00")[j % 3]
            bad_ids.append(base[0])
            extra.append(base)
    table = DimTable("campaigns", list(BRONZE_COLUMNS["campaigns"]), _columns(rows), [])
    dups = _dup_rows(rng, table, counts["malformed"], None)
    counts["duplicates"] = len(dups)
    extra += dups
    table.extra = [extra[i] for i in rng.permutation(len(extra))]
    table.counts = _dim_totals(table, counts)
    arrays = dict(campaign_ids=np.array([r[0] for r in rows]), campaign_start=start, campaign_end=end,
                  campaign_weight=weight, bad_campaign_ids=bad_ids)
    return table, arrays


def _columns(rows: list[list[str]]) -> list[np.ndarray]:
    return [np.array(col, dtype=object) for col in zip(*rows)]


def _dim_totals(table: DimTable, counts: dict[str, int]) -> dict[str, int]:
    """Manifest block of a dimension: rows written, every reason, duplicates, valid rows."""
    out = {"rows_written": table.n_valid + len(table.extra)}
    out.update({r: int(counts.get(r, 0)) for r in QUARANTINE_REASONS})
    out["rows_quarantined"] = sum(out[r] for r in QUARANTINE_REASONS)
    out["duplicates"] = int(counts.get("duplicates", 0))
    out["rows_valid"] = out["rows_written"] - out["rows_quarantined"] - out["duplicates"]
    return out


def build_dims(seed: int, n_users: int, defect_rate: float) -> Dims:
    """All three dimensions for ``(seed, n_users)`` (and the dimension defect rate)."""
    users, ua = build_users(seed, n_users, defect_rate)
    content, ca = build_content(seed, defect_rate)
    campaigns, ka = build_campaigns(seed, n_users, defect_rate)
    return Dims(**ua, **ca, **ka, tables={"users": users, "content": content, "campaigns": campaigns})
