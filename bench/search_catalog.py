"""The search benchmark's catalogue (realistic words, one INSERT ... SELECT per table), its
free slots, and the search it is compared with (issue 6's, kept here as it was)."""

from __future__ import annotations

from server.models.services import SERVICE_COLUMNS

CATALOG = (
    """
    INSERT INTO users (id, email, name, password_hash)
    SELECT md5('catalog-user-' || n)::uuid, 'owner' || n || '@example.com', 'Owner ' || n, 'x'
      FROM generate_series(1, $1::int) AS n
    """,
    """
    INSERT INTO providers (id, user_id, business_name, slug, timezone)
    SELECT md5('catalog-provider-' || n)::uuid, md5('catalog-user-' || n)::uuid,
           (ARRAY['Harley', 'Brooklyn', 'Riverside', 'Oakwood', 'Camden', 'Maple', 'Northside',
                  'Kensington', 'Greenwich', 'Hillcrest', 'Lakeside', 'Victoria', 'Elm Street',
                  'Soho', 'Bayview', 'Parkside', 'Westfield', 'Highgate', 'Sunset', 'Cedar',
                  'Willow', 'Chelsea', 'Harbour', 'Meadow', 'Stonebridge', 'Kingsway', 'Ashford',
                  'Bridgewater', 'Fairview', 'Southbank'])[1 + n % 30]
           || ' '
           || (ARRAY['Clinic', 'Studio', 'Salon', 'Academy', 'Centre', 'Wellness', 'Barbers',
                     'Practice', 'Institute', 'Lounge'])[1 + (n / 30) % 10],
           'catalog-' || n, 'Europe/London'
      FROM generate_series(1, $1::int) AS n
    """,
    """
    INSERT INTO services (id, provider_id, name, description, category, location, price_cents,
                          currency, duration_minutes, max_appointments_per_day, hours, created_at)
    SELECT md5('catalog-service-' || n)::uuid,
           md5('catalog-provider-' || (1 + n % $1::int))::uuid,
           adjective || ' ' || kind,
           adjective || ' ' || lower(kind) || ' with ' || who || '. ' || extra,
           category,
           (ARRAY['London', 'Manchester', 'Leeds', 'Bristol', 'Glasgow', 'Cardiff'])[1 + n % 6],
           1000 + (n % 90) * 100, 'GBP', 30, 16, '{"mon": [["09:00", "17:00"]]}'::jsonb,
           now() - make_interval(secs => n)
      FROM generate_series(1, $1::int * 5) AS n
     CROSS JOIN LATERAL (
           SELECT (ARRAY['Deep tissue', 'Sports', 'Relaxing', 'Express', 'Advanced', 'Beginner',
                         'Premium', 'Family', 'Evening', 'Weekend', 'Intensive', 'Gentle',
                         'Classic', 'Luxury', 'Quick', 'Private'])[1 + (n * 7) % 16] AS adjective,
                  (ARRAY['massage', 'haircut', 'physiotherapy', 'yoga class', 'dental check-up',
                         'piano lesson', 'maths tutoring', 'beard trim', 'manicure', 'eye test',
                         'nutrition consultation', 'personal training', 'tax advice',
                         'dog grooming', 'photo shoot', 'guitar lesson', 'pilates', 'acupuncture',
                         'counselling session', 'car valet', 'facial', 'driving lesson',
                         'language class', 'legal consultation'])[1 + (n * 13) % 24] AS kind,
                  (ARRAY['Wellness', 'Hair', 'Health', 'Fitness', 'Dental', 'Music', 'Education',
                         'Hair', 'Beauty', 'Health', 'Health', 'Fitness', 'Finance', 'Pets',
                         'Photography', 'Music', 'Fitness', 'Wellness', 'Therapy', 'Automotive',
                         'Beauty', 'Education', 'Education', 'Legal'])[1 + (n * 13) % 24]
                      AS category,
                  (ARRAY['an experienced', 'a certified', 'a friendly', 'a senior',
                         'a qualified'])[1 + n % 5]
                  || ' '
                  || (ARRAY['therapist', 'stylist', 'coach', 'teacher', 'specialist',
                            'practitioner'])[1 + (n / 7) % 6] AS who,
                  (ARRAY['Book online in seconds.', 'Parking available nearby.',
                         'Suitable for all levels.', 'Please arrive ten minutes early.',
                         'Gift vouchers available.', 'Evening appointments available.'])
                      [1 + (n / 3) % 6] AS extra
           ) AS words
    """,
)

# Four free slots tomorrow (09:00-11:00 provider time, $1 the day, $2 the zone) for a third of the
# services: what `available_on` looks for.
FREE_SLOTS_TOMORROW = """
    INSERT INTO appointments (service_id, slot_date, starts_at, ends_at, token)
    SELECT s.id, $1::date,
           ($1::date + time '09:00' + make_interval(mins => 30 * t)) AT TIME ZONE $2,
           ($1::date + time '09:30' + make_interval(mins => 30 * t)) AT TIME ZONE $2,
           t + 1
      FROM services AS s
     CROSS JOIN generate_series(0, 3) AS t
     WHERE (s.price_cents / 100) % 3 = 0
    ON CONFLICT DO NOTHING
"""

# Issue 6's search, the "before": every match found by the trigram GIN indexes of sql/0007 is
# ranked with four word_similarity() calls, then the top 20 taken; the total is a window count.
RANK_EVERY_MATCH = f"""
    WITH matched AS (
        SELECT s.id
          FROM services AS s
         WHERE s.is_active
           AND (   s.name ILIKE $2
                OR s.description ILIKE $2
                OR s.category ILIKE $2
                OR $1 <% s.name
                OR $1 <% s.description
                OR $1 <% s.category)
         UNION
        SELECT s.id
          FROM providers AS p
          JOIN services AS s ON s.provider_id = p.id
         WHERE s.is_active
           AND (p.business_name ILIKE $2 OR $1 <% p.business_name)
    ),
    ranked AS (
        SELECT {SERVICE_COLUMNS},
               s.created_at,
                 3 * word_similarity($1, s.name)
               + 2 * word_similarity($1, p.business_name)
               + 2 * word_similarity($1, coalesce(s.category, ''))
               + word_similarity($1, s.description)
               + CASE WHEN s.name ILIKE $2 THEN 2 ELSE 0 END AS rank
          FROM matched
          JOIN services AS s ON s.id = matched.id
          JOIN providers AS p ON p.id = s.provider_id
         WHERE $3::text IS NULL OR lower(s.category) = lower($3)
    )
    SELECT *, count(*) OVER () AS total
      FROM ranked
     ORDER BY rank DESC, created_at DESC, id
     LIMIT $4 OFFSET $5
"""
