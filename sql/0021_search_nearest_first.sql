-- Search that reads only the best candidates (server/models/service_search.py, issue 16).
--
-- 1. Trigram GiST indexes answer `ORDER BY q <<-> column LIMIT k` in index order (nearest
--    first), so the top of a broad query is found without ranking every match. The GIN indexes
--    of sql/0007 stay: they answer the capped count of matches (bitmap scans). A larger
--    signature (siglen) keeps long descriptions from blurring into "might match anything".
CREATE INDEX services_name_trgm_gist_idx
    ON services USING gist (name gist_trgm_ops (siglen = 256)) WHERE is_active;
CREATE INDEX services_description_trgm_gist_idx
    ON services USING gist (description gist_trgm_ops (siglen = 256)) WHERE is_active;
CREATE INDEX services_category_trgm_gist_idx
    ON services USING gist (category gist_trgm_ops) WHERE is_active;
CREATE INDEX providers_business_name_trgm_gist_idx
    ON providers USING gist (business_name gist_trgm_ops (siglen = 64));

-- A description matches when it holds every word of the search text (full-text, any order):
-- a word-similarity match over long text cannot be found in index order cheaply.
CREATE INDEX services_description_words_idx
    ON services USING gin (to_tsvector('simple', description)) WHERE is_active;

-- The `near` filter matches the service's location text (a city, a street).
CREATE INDEX services_location_trgm_idx
    ON services USING gin (location gin_trgm_ops) WHERE is_active;

-- `available_on` asks which services have a free slot on a day: for a day with few free slots
-- the planner can start from that day's free slots instead of probing every service.
CREATE INDEX appointments_free_by_day_idx
    ON appointments (slot_date, service_id) WHERE NOT booked;

-- 2. Every word the catalogue uses, once: a typo in the search text is corrected to the
--    nearest of these before searching ("massge" -> "massage"), so a typo costs what the right
--    word costs. Words are only ever added; one no longer used simply finds nothing.
CREATE TABLE search_words (
    word  text  PRIMARY KEY CHECK (length(word) BETWEEN 2 AND 40)
);
CREATE INDEX search_words_trgm_idx ON search_words USING gist (word gist_trgm_ops);

CREATE FUNCTION search_words_of(content text) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT word
      FROM regexp_split_to_table(lower(coalesce(content, '')), '[^[:alnum:]]+') AS word
     WHERE length(word) BETWEEN 2 AND 40
$$;

-- Inserts add their words once per statement (a bulk insert of services is one INSERT of
-- words); an update adds words only when a searched field changed (the top-up job updates every
-- service's slots_generated_until, which must not cost a word split each).
CREATE FUNCTION remember_inserted_service_words() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (word)
    SELECT DISTINCT found.word
      FROM new_services AS s
     CROSS JOIN LATERAL search_words_of(
               s.name || ' ' || s.description || ' ' || coalesce(s.category, '')
           ) AS found (word)
    ON CONFLICT (word) DO NOTHING;
    RETURN NULL;
END
$$;

CREATE FUNCTION remember_inserted_provider_words() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (word)
    SELECT DISTINCT found.word
      FROM new_providers AS p
     CROSS JOIN LATERAL search_words_of(p.business_name) AS found (word)
    ON CONFLICT (word) DO NOTHING;
    RETURN NULL;
END
$$;

CREATE FUNCTION remember_changed_service_words() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (word)
    SELECT DISTINCT word
      FROM search_words_of(NEW.name || ' ' || NEW.description || ' ' || coalesce(NEW.category, ''))
        AS found (word)
    ON CONFLICT (word) DO NOTHING;
    RETURN NULL;
END
$$;

CREATE FUNCTION remember_changed_provider_words() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (word)
    SELECT DISTINCT word
      FROM search_words_of(NEW.business_name) AS found (word)
    ON CONFLICT (word) DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER services_inserted_words
    AFTER INSERT ON services REFERENCING NEW TABLE AS new_services
    FOR EACH STATEMENT EXECUTE FUNCTION remember_inserted_service_words();
CREATE TRIGGER providers_inserted_words
    AFTER INSERT ON providers REFERENCING NEW TABLE AS new_providers
    FOR EACH STATEMENT EXECUTE FUNCTION remember_inserted_provider_words();
CREATE TRIGGER services_changed_words
    AFTER UPDATE OF name, description, category ON services
    FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name
          OR OLD.description IS DISTINCT FROM NEW.description
          OR OLD.category IS DISTINCT FROM NEW.category)
    EXECUTE FUNCTION remember_changed_service_words();
CREATE TRIGGER providers_changed_words
    AFTER UPDATE OF business_name ON providers
    FOR EACH ROW
    WHEN (OLD.business_name IS DISTINCT FROM NEW.business_name)
    EXECUTE FUNCTION remember_changed_provider_words();

INSERT INTO search_words (word)
SELECT DISTINCT found.word
  FROM services AS s
 CROSS JOIN LATERAL search_words_of(
           s.name || ' ' || s.description || ' ' || coalesce(s.category, '')
       ) AS found (word)
 WHERE s.is_active
UNION
SELECT found.word
  FROM providers AS p
 CROSS JOIN LATERAL search_words_of(p.business_name) AS found (word)
ON CONFLICT (word) DO NOTHING;
