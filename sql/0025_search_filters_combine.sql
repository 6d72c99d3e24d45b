-- A search's capped count (server/models/service_search.py) finds the text's matches through
-- their indexes' bitmaps. The `near` and `available_on` filters were then tested row by row:
-- "guitar lesson near Cardiff" read 2,888 heap pages (and tested 6,777 rows) to find the 1,001
-- matches it counts, when the text's bitmap ANDed with the city's would have pointed at them
-- directly (1,001 pages; bench/README.md).
--
-- The planner never ANDs two partial indexes with the same predicate: it takes their shared
-- `WHERE is_active` for the same condition counted twice and drops the second index
-- (choose_bitmap_and in PostgreSQL's indxpath.c). Every text index is partial on is_active, so
-- the filters' indexes must not be: the location index is rebuilt without a predicate, and
-- the open days get one (inactive services are few; the search tests is_active anyway).
DROP INDEX services_location_trgm_idx;
CREATE INDEX services_location_trgm_idx ON services USING gin (location gin_trgm_ops);
CREATE INDEX services_open_days_idx ON services USING gin (open_days);

-- The earliest provider-local date on which a slot can still start: yesterday in UTC, the
-- earliest date still current anywhere (no time zone is more than a day behind UTC). Days
-- before it leave open_days, here and in the worker's recount (server/models/open_days.py).
CREATE FUNCTION earliest_open_day() RETURNS date
    LANGUAGE sql STABLE AS $$
    SELECT (now() AT TIME ZONE 'UTC')::date - 1
$$;

-- Past days no longer pile up in open_days: each time the trigger adds days, it drops those
-- before earliest_open_day().
CREATE OR REPLACE FUNCTION remember_open_days() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE services AS s
       SET open_days = ARRAY(SELECT DISTINCT day
                               FROM unnest(s.open_days || added.days) AS day
                              WHERE day >= earliest_open_day()
                              ORDER BY day)
      FROM (SELECT service_id, array_agg(DISTINCT slot_date) AS days
              FROM new_slots
             WHERE NOT booked
             GROUP BY service_id
           ) AS added
     WHERE s.id = added.service_id
       AND NOT s.open_days @> added.days;
    RETURN NULL;
END
$$;
