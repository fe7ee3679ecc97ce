-- silver_users: one row per user_id: the first valid row of users.csv (line order);
-- later valid rows with the same key are duplicates (SPEC §10).
create or replace table silver_users as
select * exclude (rn)
from (
    select
        *,
        row_number() over (partition by user_id order by source_file, line_number) as rn,
    from users_checked
    where reason is null
)
where rn = 1
