"""A small hand-written bronze tree (SPEC §2–3) for the silver tests.

:func:`write_bronze` writes dims and two ingest dates of playback and ad events that
exercise every quarantine reason, the formatting cases of SPEC §3/§10 (BOM, CRLF,
quoted commas/quotes/newlines, columns in another order, extra columns, offsets,
fractional seconds, epoch ms), a within-partition duplicate, a cross-partition
duplicate and a session spanning midnight. ``EXPECTED`` holds the hand-counted audit.
"""

from __future__ import annotations

from pathlib import Path

USERS = """user_id,signup_date,plan,country,city,age_band,primary_device,updated_at
u1,2026-10-01,premium,us,Austin,25-34,smart_tv,2026-10-01T00:00:00Z
u2,2026-10-02, Ad Supported ,gb,"London, UK",18-24,mobile,1759363200000
u2,2026-10-03,basic,gb,London,18-24,mobile,
u3,2026-02-31,basic,fr,Paris,35-44,desktop,
u4,2026-10-04,gold,de,Berlin,45-54,tablet,
,2026-10-04,basic,de,Berlin,45-54,tablet,
"""

CONTENT = """content_id,title,content_type,series_id,season_number,episode_number,genre,maturity_rating,duration_sec,release_year,language,is_original
c1,"The ""Big"" Movie",movie,,,,drama,PG,1000,2020,en,TRUE
c2,Episode One,Episode,s1,1,1,comedy,TV-14,600,2021,en,false
c3,Bad Episode,episode,,1,2,comedy,TV-14,600,2021,en,false
c4,Zero,movie,,,,drama,PG,0,2020,en,true
"""

CAMPAIGNS = """campaign_id,advertiser,objective,bid_strategy,bid_usd,budget_usd,start_date,end_date
k1,Acme,awareness,cpm,5.5,1000,2026-11-01,2026-11-30
k2,Beta,Conversion,CPC,0,500,2026-11-01,2026-11-30
"""

PB_HEADER = "event_id,session_id,user_id,content_id,event_type,event_ts,device_type,os,app_version,country,position_sec,bitrate_kbps,error_code,error_fatal"

# dt=2026-11-01, part-00000: BOM + CRLF, every reason, a duplicate, a midnight session
PB_D1_P0 = "\ufeff" + "\r\n".join(
    [
        PB_HEADER,
        "e1,s1,u1,c1,play_attempt,2026-11-01T23:59:00Z,smart_tv,tvOS,1.0,us,,,,",
        "e2,s1,u1,c1, Video-Start ,2026-11-01T23:59:01.5Z, Smart TV ,tvOS,1.0,us,0,3000,,",
        "e3,s1,u1,c1,buffer_start,2026-11-02T00:00:01.000+00:00,smart_tv,tvOS,1.0,us,10,3000,,",
        "e2,s1,u1,c1,video_start,2026-11-01T23:59:01.5Z,smart_tv,tvOS,1.0,us,0,3000,,",  # duplicate
        "",  # blank line: not a record
        "e4,s1,u1,c1,buffer_end,2026-11-02T01:00:03+01:00,smart_tv,tvOS,1.0,us,10,3000,,",
        'e5,s1,u1,c1,error,2026-11-02T00:10:01Z,smart_tv,tvOS,1.0,us,950,,"E,1",True',
        "e6,s2",  # malformed
        "e7,s2,u1,,play_attempt,2026-11-01T10:00:00Z,mobile,,,,,,,",  # missing_field
        "e8,s2,u1,c1,play_attempt,2026-11-01T10:00,mobile,,,,,,,",  # invalid_timestamp
        "e9,s2,u1,c1,jump,2026-11-01T10:00:00Z,mobile,,,,,,,",  # invalid_enum
        "e10,s2,u1,c1,seek,2026-11-01T10:00:00Z,mobile,,,,12.0,,,",  # out_of_range
        "e11,s2,u1,c1,seek,2026-11-03T01:00:00Z,mobile,,,,,,,",  # future_timestamp
        "e12,s2,u9,c1,seek,2026-11-01T10:00:00Z,mobile,,,,,,,",  # unknown_user
        "e13,s2,u1,c9,seek,2026-11-01T10:00:00Z,mobile,,,,,,,",  # unknown_content
    ]
) + "\r\n"

# dt=2026-11-01, part-00001: columns reordered, an extra column, a quoted newline
PB_D1_P1 = """extra,event_type,event_id,session_id,user_id,content_id,event_ts,device_type,position_sec,bitrate_kbps,error_fatal
x,play_attempt,e20,s3,u2,c2,1793523600000,mobile,,,
"multi
line",video_start,e21,s3,u2,c2,2026-11-01T09:00:02.123456-00:00,mobile,0,2000,
x,video_end,e22,s3,u2,c2,2026-11-01T09:10:02Z,mobile,590,4000,
x,video_start,e2,s1,u1,c1,2026-11-01T23:59:01.5Z,smart_tv,0,3000,
"""

# dt=2026-11-02: a late event of s1 and a cross-partition duplicate of e20
PB_D2_P0 = "\n".join(
    [
        PB_HEADER,
        "e30,s1,u1,c1,heartbeat,2026-11-02T00:05:00Z,smart_tv,tvOS,1.0,us,300,5000,,",
        "e20,s3,u2,c2,play_attempt,1793523600000,mobile,,,,,,,",
    ]
) + "\n"

AD_HEADER = "event_id,session_id,user_id,campaign_id,placement,event_type,event_ts,device_type,country"
AD_D1_P0 = "\n".join(
    [
        AD_HEADER,
        "a1,s1,u1,k1,pre_roll,impression,2026-11-01T23:59:30Z,smart_tv,us",
        "a2,,u1,,home_sponsorship,ad_request,2026-11-01T12:00:00Z,mobile,us",
        "a3,s1,u1,,pre_roll,impression,2026-11-01T23:59:30Z,smart_tv,us",  # missing campaign
        "a4,s1,u1,k2,pre_roll,impression,2026-11-01T23:59:30Z,smart_tv,us",  # unknown_campaign
        "a5,,u1,k1,mid_roll,click,2026-11-01T23:59:30Z,smart_tv,us",  # missing session
    ]
) + "\n"

EXPECTED = {
    ("users", ""): dict(rows_read=6, rows_valid=2, duplicates_dropped=1, rows_quarantined=3,
                        invalid_timestamp=1, invalid_enum=1, missing_field=1),
    ("content", ""): dict(rows_read=4, rows_valid=2, duplicates_dropped=0, rows_quarantined=2,
                          missing_field=1, out_of_range=1),
    ("campaigns", ""): dict(rows_read=2, rows_valid=1, duplicates_dropped=0, rows_quarantined=1, out_of_range=1),
    ("playback_events", "2026-11-01"): dict(
        rows_read=18, rows_valid=8, duplicates_dropped=2, rows_quarantined=8, malformed=1, missing_field=1,
        invalid_timestamp=1, invalid_enum=1, out_of_range=1, future_timestamp=1, unknown_user=1, unknown_content=1,
    ),
    ("playback_events", "2026-11-02"): dict(rows_read=2, rows_valid=2, duplicates_dropped=0, rows_quarantined=0),
    ("ad_events", "2026-11-01"): dict(rows_read=5, rows_valid=2, duplicates_dropped=0, rows_quarantined=3,
                                      missing_field=2, unknown_campaign=1),
}


def write_bronze(data_dir: Path) -> Path:
    """Write the fixture bronze under ``data_dir`` (returns it)."""
    bronze = data_dir / "bronze"
    files = {
        "dims/users.csv": USERS,
        "dims/content.csv": CONTENT,
        "dims/campaigns.csv": CAMPAIGNS,
        "playback_events/dt=2026-11-01/part-00000.csv": PB_D1_P0,
        "playback_events/dt=2026-11-01/part-00001.csv": PB_D1_P1,
        "playback_events/dt=2026-11-02/part-00000.csv": PB_D2_P0,
        "ad_events/dt=2026-11-01/part-00000.csv": AD_D1_P0,
    }
    for rel, text in files.items():
        path = bronze / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    return data_dir
