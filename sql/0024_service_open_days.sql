-- `available_on` (server/models/service_search.py) probes each service matching a search for a
-- free slot that day: an index read a service, whichever way the day turns out. `open_days`
-- holds every day on which the service has a free slot row, and maybe some more: a service
-- without that day is passed over with no probe (a day closed, never generated, or whose last
-- free time was booked). A search proving that no service in a city is free on a fully booked
-- day read every matching service's slots before (bench/README.md).
--
-- It may hold days too many, never too few: the probe still decides. Free rows only ever come
-- from INSERTs (a booking never turns back into a free row; a cancellation inserts a new one),
-- and the trigger below adds their days in the same statement. Days are dropped only by
-- `refresh_open_days` (server/models/open_days.py, the worker's refresh_open_days job), which
-- recounts a service's days with its row locked.
ALTER TABLE services ADD COLUMN open_days date[] NOT NULL DEFAULT '{}';

-- Rows are updated in place when their page has room (a HOT update: no index touched), which
-- keeps a service's row where its neighbours are; the top-up updates every service daily too.
ALTER TABLE services SET (fillfactor = 90);

CREATE FUNCTION remember_open_days() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE services AS s
       SET open_days = ARRAY(SELECT DISTINCT day
                               FROM unnest(s.open_days || added.days) AS day
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

CREATE TRIGGER appointments_open_days
    AFTER INSERT ON appointments REFERENCING NEW TABLE AS new_slots
    FOR EACH STATEMENT EXECUTE FUNCTION remember_open_days();

UPDATE services AS s
   SET open_days = found.days
  FROM (SELECT service_id, array_agg(DISTINCT slot_date ORDER BY slot_date) AS days
          FROM appointments
         WHERE NOT booked
           AND occupies_slot
           AND slot_date >= current_date - 1
         GROUP BY service_id
       ) AS found
 WHERE found.service_id = s.id;

-- The refresh job recounts the services booked in the last few minutes.
CREATE INDEX appointments_booked_at_idx ON appointments (booked_at) WHERE booked;
