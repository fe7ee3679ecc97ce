-- silver_content: one row per content_id: the first valid row of content.csv (line order);
-- later valid rows with the same key are duplicates (SPEC §10).
create or replace table silver_content as
select * exclude (rn)
from (
    select
        *,
        row_number() over (partition by content_id order by source_file, line_number) as rn,
    from content_checked
    where reason is null
)
where rn = 1
