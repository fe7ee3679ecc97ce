-- Question: what share of watch time comes from binge viewers (users with at least one
--           binge: 3+ consecutive episodes of one series), per subscription plan?
-- Grain: one row per plan with at least one user who played something.
with

engagement as (
    select * from gold_user_engagement
),

viewers as (
    select
        plan,
        user_id,
        watch_hours,
        binge_sessions > 0 as is_binge_viewer
    from engagement
    where plays > 0
),

final as (
    select
        plan,
        count(*) as viewers,
        countif(is_binge_viewer) as binge_viewers,
        safe_divide(countif(is_binge_viewer), count(*)) as binge_viewer_rate,
        sum(watch_hours) as watch_hours,
        sum(if(is_binge_viewer, watch_hours, 0)) as binge_viewer_watch_hours,
        safe_divide(sum(if(is_binge_viewer, watch_hours, 0)), sum(watch_hours)) as binge_watch_share
    from viewers
    group by plan
)

select * from final
