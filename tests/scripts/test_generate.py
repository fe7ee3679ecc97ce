"""`ott generate`: contract conformance, manifest truth, determinism, composability, flags.

The manifest is the ground truth silver is tested against, so it is checked here by an
INDEPENDENT classifier: it re-reads every CSV with the standard ``csv`` module and
applies the SPEC §4/§10 rules itself (it shares only the contract's enum lists with the
generator), then compares its counts with ``bronze/_manifest``.
"""

from __future__ import annotations

import csv
import datetime as dt
import glob
import hashlib
import json
import os
import re
import subprocess
from collections import Counter, defaultdict

import pytest

from beam_pipelines.schema import BRONZE_COLUMNS, BRONZE_FIELDS, ENUM_LOOKUP, QUARANTINE_REASONS, enum_token
from scripts.generate import GenerateConfig, generate

SMALL = dict(seed=7, start_date=dt.date(2026, 11, 2), days=2, users=200, events_per_day=5000, defect_rate=0.05)

# ---------------------------------------------------------------- independent checker

TS_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
INT = re.compile(r"^[+-]?\d+$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_ts_ms(text: str) -> int | None:
    """Epoch ms of a contract timestamp, or None when unparseable."""
    if text.isdigit():
        return int(text)
    m = TS_ISO.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, zone = m.groups()
    try:
        base = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    ms = int(base.timestamp()) * 1000 + (int((frac[1:] + "00")[:3]) if frac else 0)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        ms -= sign * (int(zone[1:3]) * 60 + int(zone[4:6])) * 60_000
    return ms


def valid_date(text: str) -> bool:
    if not DATE.match(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def read_records(path: str) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header = [h.strip() for h in rows[0]]
    return header, [r for r in rows[1:] if r != [] and r != [""]]


def classify(dataset: str, header: list[str], raw: list[str], dt_day: dt.date | None, keys: dict) -> str | None:
    """The quarantine reason of one record (None = valid), applying SPEC §4 in order."""
    if len(raw) != len(header):
        return "malformed"
    row = {h: v.strip() for h, v in zip(header, raw)}
    fields = BRONZE_FIELDS[dataset]
    val = {f.name: (row.get(f.name) or None) for f in fields}
    norm = {f.name: enum_token(val[f.name]) for f in fields if f.kind == "enum" and val[f.name]}
    for f in fields:
        required = f.required
        if required == "unless_ad_request":
            required = norm.get("event_type") != "ad_request"
        elif required == "unless_home_sponsorship":
            required = norm.get("placement") != "home_sponsorship"
        elif required == "if_episode":
            required = norm.get("content_type") == "episode"
        if required and val[f.name] is None:
            return "missing_field"
    for f in fields:
        v = val[f.name]
        if v is None:
            continue
        if f.kind == "ts" and parse_ts_ms(v) is None:
            return "invalid_timestamp"
        if f.kind == "date" and not valid_date(v):
            return "invalid_timestamp"
    for f in fields:
        v = val[f.name]
        if v is not None and f.kind in ("enum", "bool") and enum_token(v) not in ENUM_LOOKUP[(dataset, f.name)]:
            return "invalid_enum"
    for f in fields:
        v = val[f.name]
        if v is None:
            continue
        if f.kind == "int":
            if not INT.match(v):
                return "out_of_range"
            n = int(v)
            if (f.min_value is not None and n < f.min_value) or (f.max_value is not None and n > f.max_value):
                return "out_of_range"
        if f.kind == "decimal":
            try:
                if not float(v) > 0:
                    return "out_of_range"
            except ValueError:
                return "out_of_range"
    if dt_day is not None:
        boundary = int(dt.datetime.combine(dt_day + dt.timedelta(days=1), dt.time(1), dt.timezone.utc).timestamp()) * 1000
        if parse_ts_ms(val["event_ts"]) >= boundary:
            return "future_timestamp"
        if val["user_id"] not in keys["users"]:
            return "unknown_user"
        if dataset == "playback_events" and val["content_id"] not in keys["content"]:
            return "unknown_content"
        if dataset == "ad_events" and val["campaign_id"] is not None and val["campaign_id"] not in keys["campaigns"]:
            return "unknown_campaign"
    return None


def check_bronze(data_dir: str) -> dict:
    """Counts re-derived from the files: {"dims": {...}, (dataset, dt): {...}} + valid rows."""
    bronze = os.path.join(data_dir, "bronze")
    out: dict = {"dims": {}, "valid": defaultdict(list)}
    keys: dict[str, set] = {}
    for name in ("users", "content", "campaigns"):
        header, records = read_records(os.path.join(bronze, "dims", f"{name}.csv"))
        assert set(BRONZE_COLUMNS[name]) <= set(header)
        counts: Counter = Counter(rows_written=len(records))
        seen: set = set()
        pk = BRONZE_COLUMNS[name][0]
        for raw in records:
            reason = classify(name, header, raw, None, keys)
            if reason:
                counts[reason] += 1
                continue
            key = raw[header.index(pk)].strip()
            if key in seen:
                counts["duplicates"] += 1
            else:
                seen.add(key)
                out["valid"][name].append(dict(zip(header, (v.strip() for v in raw))))
        keys[name] = seen
        out["dims"][name] = counts
    for dataset in ("playback_events", "ad_events"):
        earlier: set = set()
        for folder in sorted(glob.glob(os.path.join(bronze, dataset, "dt=*"))):
            day = dt.date.fromisoformat(folder.rsplit("dt=", 1)[1])
            counts = Counter()
            ids_here: set = set()
            for path in sorted(glob.glob(os.path.join(folder, "part-*.csv"))):
                header, records = read_records(path)
                assert set(BRONZE_COLUMNS[dataset]) <= set(header), path
                counts["rows_written"] += len(records)
                for raw in records:
                    reason = classify(dataset, header, raw, day, keys)
                    if reason:
                        counts[reason] += 1
                        continue
                    row = {h: v.strip() for h, v in zip(header, raw)}
                    if row["event_id"] in ids_here:
                        counts["duplicates_within_partition"] += 1
                        continue
                    ids_here.add(row["event_id"])
                    if row["event_id"] in earlier:
                        counts["cross_partition_replays"] += 1
                    row["dt"] = day
                    out["valid"][dataset].append(row)
            earlier |= ids_here
            out[(dataset, day.isoformat())] = counts
    return out


def file_hashes(root: str) -> dict[str, str]:
    out = {}
    for path in sorted(glob.glob(os.path.join(root, "bronze", "**", "*"), recursive=True)):
        if os.path.isfile(path) and not os.path.basename(path).startswith("."):
            with open(path, "rb") as fh:
                out[os.path.relpath(path, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out


# ------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def small_bronze(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("gen"))
    generate(GenerateConfig(data_dir=root, **SMALL))
    return root


@pytest.fixture(scope="module")
def checked(small_bronze) -> dict:
    return check_bronze(small_bronze)


def manifests(root: str) -> dict[str, dict]:
    out = {}
    for path in sorted(glob.glob(os.path.join(root, "bronze", "_manifest", "dt=*.json"))):
        with open(path) as fh:
            m = json.load(fh)
        out[m["dt"]] = m
    return out


# ---------------------------------------------------------------------------- tests


def test_layout_and_headers(small_bronze):
    bronze = os.path.join(small_bronze, "bronze")
    for name in ("users", "content", "campaigns"):
        assert os.path.isfile(os.path.join(bronze, "dims", f"{name}.csv"))
    for dataset in ("playback_events", "ad_events"):
        folders = sorted(os.listdir(os.path.join(bronze, dataset)))
        # both generated days, plus spill-over (midnight, late, replays) up to 3 days on
        assert folders[:2] == ["dt=2026-11-02", "dt=2026-11-03"]
        assert all(re.fullmatch(r"dt=\d{4}-\d{2}-\d{2}", f) for f in folders)
        for f in folders:
            names = os.listdir(os.path.join(bronze, dataset, f))
            assert names and all(re.fullmatch(r"part-\d{8}-\d{5}\.csv", n) for n in names)


def test_event_manifest_counts_match_an_independent_count(small_bronze, checked):
    found = manifests(small_bronze)
    dts = {key[1] for key in checked if isinstance(key, tuple)}
    assert set(found) == dts
    keys = ["rows_written", *QUARANTINE_REASONS, "duplicates_within_partition", "cross_partition_replays"]
    for dt_, m in found.items():
        for dataset in ("playback_events", "ad_events"):
            truth = m["totals"].get(dataset, {})
            mine = checked.get((dataset, dt_), Counter())
            assert {k: truth.get(k, 0) for k in keys} == {k: mine.get(k, 0) for k in keys}, (dataset, dt_)
            assert truth.get("rows_valid", 0) == (
                mine["rows_written"] - sum(mine[r] for r in QUARANTINE_REASONS) - mine["duplicates_within_partition"]
            )


def test_every_reason_and_duplicate_kind_is_injected(checked):
    totals: Counter = Counter()
    for key, counts in checked.items():
        if isinstance(key, tuple):
            totals.update({f"{key[0]}:{k}": v for k, v in counts.items()})
    for reason in QUARANTINE_REASONS:
        if reason == "unknown_campaign":
            assert totals[f"ad_events:{reason}"] > 0
        elif reason == "unknown_content":
            assert totals[f"playback_events:{reason}"] > 0
        elif reason == "out_of_range":  # ad_events has no integer column
            assert totals[f"playback_events:{reason}"] > 0
        else:
            assert totals[f"playback_events:{reason}"] > 0 and totals[f"ad_events:{reason}"] > 0, reason
    for ds in ("playback_events", "ad_events"):
        assert totals[f"{ds}:duplicates_within_partition"] > 0
    assert totals["playback_events:cross_partition_replays"] > 0


def test_dimension_manifest_matches_an_independent_count(small_bronze, checked):
    with open(os.path.join(small_bronze, "bronze", "_manifest", "dims.json")) as fh:
        truth = json.load(fh)
    for name in ("users", "content", "campaigns"):
        mine = checked["dims"][name]
        assert truth[name]["rows_written"] == mine["rows_written"]
        assert truth[name]["duplicates"] == mine["duplicates"] > 0
        for reason in QUARANTINE_REASONS:
            assert truth[name][reason] == mine[reason], (name, reason)
        assert sum(mine[r] for r in QUARANTINE_REASONS) > 0


def test_clean_rows_conform_and_reference_valid_dimensions(checked):
    users = {u["user_id"]: u for u in checked["valid"]["users"]}
    content = {c["content_id"] for c in checked["valid"]["content"]}
    campaigns = {c["campaign_id"] for c in checked["valid"]["campaigns"]}
    pb, ads = checked["valid"]["playback_events"], checked["valid"]["ad_events"]
    assert len(pb) > 5000 and len(ads) > 300
    for r in pb:
        assert r["user_id"] in users and r["content_id"] in content
        # a user appears only from the day of their signup on
        assert users[r["user_id"]]["signup_date"] <= r["session_id"][4:8] + "-" + r["session_id"][8:10] + "-" + \
            r["session_id"][10:12]
    for r in ads:
        assert r["user_id"] in users
        assert r["campaign_id"] == "" and enum_token(r["event_type"]) == "ad_request" or r["campaign_id"] in campaigns
        assert (r["session_id"] == "") == (enum_token(r["placement"]) == "home_sponsorship")
        assert enum_token(users[r["user_id"]]["plan"]) == "ad_supported"  # ads only for ad-supported users
    # contract-valid formatting variety is present (and was accepted above)
    ts = [r["event_ts"] for r in pb + ads]
    assert any(t.isdigit() for t in ts)
    assert any(re.search(r"[+-]\d{2}:\d{2}$", t) for t in ts)
    assert any(" " in t for t in ts) and any(t.endswith("z") for t in ts)
    assert any(r["device_type"] not in ENUM_LOOKUP[("playback_events", "device_type")].values() for r in pb)
    assert any(r["country"].islower() for r in pb)


def test_sessions_are_realistic(checked):
    pb = checked["valid"]["playback_events"]
    by_session: dict[str, list] = defaultdict(list)
    for r in pb:
        by_session[r["session_id"]].append((parse_ts_ms(r["event_ts"]), enum_token(r["event_type"]), r))
    kinds = Counter(k for events in by_session.values() for _, k, _ in events)
    for k in ("play_attempt", "video_start", "heartbeat", "pause", "resume", "seek", "buffer_start", "buffer_end",
              "bitrate_change", "error", "video_end"):
        assert kinds[k] > 0, k
    crossing = started = 0
    for events in by_session.values():
        events.sort(key=lambda e: (e[0], e[2]["event_id"]))
        if len({e[2]["dt"] for e in events}) > 1:
            crossing += 1
        types = [k for _, k, _ in events]
        if "video_start" in types and "play_attempt" in types:
            started += 1
            attempt = next(t for t, k, _ in events if k == "play_attempt")
            start = next(t for t, k, _ in events if k == "video_start")
            assert 0 < start - attempt <= 30_000  # startup delay
    assert started > 100 and crossing > 0
    # heartbeats are 60 s of playback apart and carry position and bitrate
    hb = [r for r in pb if enum_token(r["event_type"]) == "heartbeat"]
    assert all(r["position_sec"] and r["bitrate_kbps"] for r in hb)
    errors = [r for r in pb if enum_token(r["event_type"]) == "error"]
    assert {enum_token(r["error_fatal"]) for r in errors} == {"true", "false"}
    assert all(r["error_code"] for r in errors)
    assert not any(r["error_fatal"] or r["error_code"] for r in hb)


def test_late_events_only_move_to_later_partitions(checked):
    late = 0
    for r in checked["valid"]["playback_events"] + checked["valid"]["ad_events"]:
        event_day = dt.datetime.fromtimestamp(parse_ts_ms(r["event_ts"]) / 1000, dt.timezone.utc).date()
        assert r["dt"] >= event_day
        if (r["dt"] - event_day).days >= 1 and r["dt"] - event_day <= dt.timedelta(days=3):
            late += 1
    assert late > 0


def test_same_arguments_give_byte_identical_bronze(ott_bin, tmp_path, small_bronze):
    """A separate `ott generate` process, with another string-hash seed, writes the same
    bytes as the in-process run (no dependence on hash order, clock or process)."""
    other = str(tmp_path / "again")
    flags = ["--seed", str(SMALL["seed"]), "--start-date", SMALL["start_date"].isoformat(),
             "--days", str(SMALL["days"]), "--users", str(SMALL["users"]),
             "--events-per-day", str(SMALL["events_per_day"]), "--defect-rate", str(SMALL["defect_rate"])]
    for hash_seed, workers in (("1", "1"), ("2", "2")):
        result = subprocess.run([ott_bin, "generate", "--data-dir", other, "--workers", workers, *flags],
                                capture_output=True, text=True, timeout=300,
                                env={**os.environ, "PYTHONHASHSEED": hash_seed})
        assert result.returncode == 0, result.stderr
        assert file_hashes(other) == file_hashes(small_bronze)


def test_days_compose_in_any_order_and_reruns_are_idempotent(tmp_path, small_bronze):
    root = str(tmp_path / "daily")
    one_day = {**SMALL, "days": 1}
    for day in (dt.date(2026, 11, 3), dt.date(2026, 11, 2), dt.date(2026, 11, 3)):  # reverse order + a rerun
        generate(GenerateConfig(data_dir=root, **{**one_day, "start_date": day}))
    assert file_hashes(root) == file_hashes(small_bronze)


def test_switching_users_on_existing_bronze_needs_clean(tmp_path, small_bronze):
    from beam_pipelines.cli_support import OttError

    root = str(tmp_path / "mixed")
    generate(GenerateConfig(data_dir=root, **{**SMALL, "days": 1}))
    with pytest.raises(OttError, match="--clean"):
        generate(GenerateConfig(data_dir=root, **{**SMALL, "days": 1, "users": 300,
                                                   "start_date": dt.date(2026, 11, 3)}))
    generate(GenerateConfig(data_dir=root, clean=True, **{**SMALL, "days": 1, "users": 300}))
    assert check_bronze(root)["dims"]["users"]["rows_written"] > 300


@pytest.mark.parametrize("flags, needle", [
    (["--days", "0"], "--days"),
    (["--users", "0"], "--users"),
    (["--defect-rate", "0.7"], "--defect-rate"),
    (["--defect-rate", "-0.1"], "--defect-rate"),
    (["--start-date", "2026-13-01"], "--start-date"),
    (["--start-date", "20261102"], "--start-date"),
    (["--start-date", "1999-01-01"], "--start-date"),
    (["--events-per-day", "0"], "--events-per-day"),
    (["--days", "many"], "--days"),
    (["--bogus"], "unrecognized"),
    (["--workers", "0"], "--workers"),
])
def test_bad_flags_get_a_one_line_error(ott_bin, tmp_path, flags, needle):
    result = subprocess.run([ott_bin, "generate", "--data-dir", str(tmp_path), *flags],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert not os.path.exists(tmp_path / "bronze")


def test_help_lists_every_flag(ott_bin):
    result = subprocess.run([ott_bin, "generate", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    for flag in ("--data-dir", "--seed", "--start-date", "--days", "--users", "--events-per-day", "--defect-rate"):
        assert flag in result.stdout


def test_checker_reads_quoted_fields_and_bom(small_bronze):
    """Guards the checker itself: content.csv has a BOM and quoted titles with commas,
    quotes and newlines; campaigns.csv uses CRLF."""
    with open(os.path.join(small_bronze, "bronze", "dims", "content.csv"), "rb") as fh:
        raw = fh.read()
    assert raw.startswith("\ufeff".encode())
    assert b'""' in raw
    with open(os.path.join(small_bronze, "bronze", "dims", "campaigns.csv"), "rb") as fh:
        assert b"\r\n" in fh.read()
    header, records = read_records(os.path.join(small_bronze, "bronze", "dims", "content.csv"))
    assert header[0] == "content_id"
    assert any("\n" in r[1] for r in records if len(r) > 1)  # a quoted title spanning two lines
    assert any("," in r[1] for r in records if len(r) > 1)


def test_tiny_and_edge_configurations_stay_consistent(tmp_path):
    """One user, the first allowed day, no defects: still valid bronze whose manifest
    matches the files (and no user appears before their signup)."""
    root = str(tmp_path / "tiny")
    generate(GenerateConfig(data_dir=root, seed=3, start_date=dt.date(2025, 7, 7), days=1, users=1,
                            events_per_day=1, defect_rate=0.0))
    found = check_bronze(root)
    for dt_, m in manifests(root).items():
        for dataset, truth in m["totals"].items():
            mine = found[(dataset, dt_)]
            assert truth["rows_written"] == mine["rows_written"] > 0
            assert truth["rows_quarantined"] == sum(mine[r] for r in QUARANTINE_REASONS) == 0
    assert found["valid"]["playback_events"]
