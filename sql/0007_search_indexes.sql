-- Search that stays fast with 100,000 services (server/models/service_search.py).
--
-- Trigram GIN indexes answer both kinds of match the search makes: substring (ILIKE '%q%')
-- and typo-tolerant word similarity (q <% column, at pg_trgm.word_similarity_threshold, which
-- the search sets for its own transaction). Only active services are ever searched, so the
-- services' indexes leave the deleted ones out.
CREATE INDEX services_name_trgm_idx
    ON services USING gin (name gin_trgm_ops) WHERE is_active;
CREATE INDEX services_description_trgm_idx
    ON services USING gin (description gin_trgm_ops) WHERE is_active;
CREATE INDEX services_category_trgm_idx
    ON services USING gin (category gin_trgm_ops) WHERE is_active;
CREATE INDEX providers_business_name_trgm_idx
    ON providers USING gin (business_name gin_trgm_ops);

-- The category filter compares without case; listing with no search text is newest first.
CREATE INDEX services_active_category_idx
    ON services (lower(category), created_at DESC, id) WHERE is_active;
CREATE INDEX services_active_newest_idx
    ON services (created_at DESC, id) WHERE is_active;
