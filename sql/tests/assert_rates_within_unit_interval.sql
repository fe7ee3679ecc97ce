-- Data test: every rate and share is a fraction in [0, 1] (or null); must return 0 rows.
-- Exception: gold_ads_daily ctr and completion_rate are only checked to be >= 0. Their
-- numerator and denominator are counted on each event's own date, so an impression just
-- before midnight whose complete or click lands after it (or an impression quarantined
-- while its complete is valid) legitimately gives a day above 1.
-- Grain of the result: one row per (table_name, rate_name) with out-of-range values.
with

rates as (
    select 'gold_content_daily' as table_name, 'completion_rate' as rate_name, completion_rate as rate from gold_content_daily
    union all
    select 'gold_genre_daily', 'completion_rate', completion_rate from gold_genre_daily
    union all
    select 'gold_qoe_daily', 'video_start_failure_rate', video_start_failure_rate from gold_qoe_daily
    union all
    select 'gold_qoe_daily', 'exit_before_start_rate', exit_before_start_rate from gold_qoe_daily
    union all
    select 'gold_qoe_daily', 'playback_failure_rate', playback_failure_rate from gold_qoe_daily
    union all
    select 'gold_qoe_daily', 'rebuffer_ratio', rebuffer_ratio from gold_qoe_daily
    union all
    select 'gold_ads_daily', 'fill_rate', fill_rate from gold_ads_daily
    union all
    select 'gold_ads_daily', 'ctr', least(ctr, 1) from gold_ads_daily
    union all
    select 'gold_ads_daily', 'completion_rate', least(completion_rate, 1) from gold_ads_daily
    union all
    select 'gold_retention_cohorts', 'retention_rate', retention_rate from gold_retention_cohorts
    union all
    select 'analytics_playback_funnel', 'play_rate', play_rate from analytics_playback_funnel
    union all
    select 'analytics_playback_funnel', 'completion_rate', completion_rate from analytics_playback_funnel
    union all
    select 'analytics_ad_revenue_by_placement', 'revenue_share', revenue_share from analytics_ad_revenue_by_placement
    union all
    select 'analytics_binge_viewer_watch_share', 'binge_watch_share', binge_watch_share from analytics_binge_viewer_watch_share
    union all
    select 'analytics_rolling_active_users_7d', 'dau_wau_ratio', dau_wau_ratio from analytics_rolling_active_users_7d
),

final as (
    select
        table_name,
        rate_name,
        count(*) as bad_values,
        min(rate) as min_rate,
        max(rate) as max_rate
    from rates
    where rate < 0 or rate > 1
    group by table_name, rate_name
)

select * from final
