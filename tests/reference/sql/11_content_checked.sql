-- content_checked: one row per bronze content.csv record, typed, with its quarantine
-- reason (null = valid). Required: content_id, title, content_type, genre, duration_sec,
-- and series_id when the normalised content_type is 'episode' (even if that were not a
-- valid member). Integers: season/episode >= 0, duration >= 1, release_year any.
-- Only typed columns, metadata and the reason are kept (text/token helpers and raw_line
-- are dropped; 29_quarantine takes raw_line from bronze for quarantined rows only).
create or replace table content_checked as
with trimmed as (
    select
        dt,
        source_file,
        line_number,
        raw_line,
        malformed,
        t(content_id) as content_id,
        t(title) as title,
        tok(t(content_type)) as content_type_tok,
        t(series_id) as series_id,
        t(season_number) as season_number_text,
        t(episode_number) as episode_number_text,
        t(genre) as genre,
        t(maturity_rating) as maturity_rating,
        t(duration_sec) as duration_sec_text,
        t(release_year) as release_year_text,
        t(language) as language,
        tok(t(is_original)) as is_original_tok,
    from bronze_content
),

typed as (
    select
        *,
        case when content_type_tok in ('movie', 'episode') then content_type_tok end as content_type,
        int_or_null(season_number_text) as season_number,
        int_or_null(episode_number_text) as episode_number,
        int_or_null(duration_sec_text) as duration_sec,
        int_or_null(release_year_text) as release_year,
        case is_original_tok when 'true' then true when 'false' then false end as is_original,
    from trimmed
),

checked as (
    select
        *,
        case
            when malformed then 'malformed'
            when content_id is null or title is null or content_type_tok is null or genre is null
                or duration_sec_text is null or (content_type_tok = 'episode' and series_id is null)
                then 'missing_field'
            when content_type is null or (is_original_tok is not null and is_original is null)
                then 'invalid_enum'
            when (season_number_text is not null and coalesce(season_number < 0, true))
                or (episode_number_text is not null and coalesce(episode_number < 0, true))
                or coalesce(duration_sec < 1, true)
                or (release_year_text is not null and release_year is null)
                then 'out_of_range'
        end as reason,
    from typed
)

select * exclude (
    raw_line, content_type_tok, season_number_text, episode_number_text,
    duration_sec_text, release_year_text, is_original_tok
)
from checked
