-- Question: which silver and gold tables does the warehouse hold?
-- Grain: one row per table (the analytics_* outputs and SQLite internals excluded).
-- Row counts are taken per name by the report-data module (a table name cannot be a
-- bound parameter).
with

tables as (
    select name from sqlite_master where type = 'table'
),

final as (
    select name as table_name
    from tables
    where name not like 'sqlite_%'
      and name not like 'analytics_%'
)

select * from final order by table_name
