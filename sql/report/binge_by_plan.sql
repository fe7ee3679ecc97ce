-- Question: how much of the watch time comes from binge viewers, per plan?
-- Grain: one row per plan, as analytics_binge_viewer_watch_share holds them.
with

binge as (
    select * from analytics_binge_viewer_watch_share
),

final as (
    select plan, viewers, binge_viewers, watch_hours, binge_viewer_watch_hours, binge_watch_share
    from binge
)

select * from final order by plan
