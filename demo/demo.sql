-- Graft demo data: a small blog.
--
-- Loaded by scripts/setup.sh into the `graft_demo` database and by the regression suite
-- (pg_test/sql/00_setup.sql) into `graft_regress`. Everything is deterministic: fixed ids,
-- fixed timestamps, no now()/random(), so regression output never drifts.
--
-- Load into an EMPTY database:  psql -v ON_ERROR_STOP=1 -f demo/demo.sql DBNAME

BEGIN;

-- An "enum table" in Hasura's sense: a text primary key plus an optional comment column.
CREATE TABLE article_status (
    value   text PRIMARY KEY,
    comment text
);
COMMENT ON TABLE article_status IS 'Workflow states of an article';

CREATE TABLE authors (
    id         serial PRIMARY KEY,
    name       text NOT NULL,
    email      text UNIQUE,
    bio        text,
    created_at timestamptz DEFAULT now()
);
COMMENT ON TABLE authors IS 'People who write articles';
COMMENT ON COLUMN authors.email IS 'Contact address, unique when present';

CREATE TABLE articles (
    id           serial PRIMARY KEY,
    author_id    int NOT NULL REFERENCES authors,
    title        text NOT NULL,
    body         text,
    published    boolean NOT NULL DEFAULT false,
    rating       numeric,
    tags         text[],
    metadata     jsonb,
    published_at timestamptz,
    status       text REFERENCES article_status
);
COMMENT ON TABLE articles IS 'Blog posts';
CREATE INDEX articles_author_id_idx ON articles (author_id);

CREATE TABLE comments (
    id         serial PRIMARY KEY,
    article_id int NOT NULL REFERENCES articles,
    author_id  int REFERENCES authors,
    body       text NOT NULL,
    created_at timestamptz DEFAULT now()
);
CREATE INDEX comments_article_id_idx ON comments (article_id);
CREATE INDEX comments_author_id_idx ON comments (author_id);

CREATE VIEW published_articles AS
    SELECT id, author_id, title, rating, tags, published_at
      FROM articles
     WHERE published;
COMMENT ON VIEW published_articles IS 'Articles visible to readers';

-- A computed field (Hasura: a function whose first argument is the table's row type).
CREATE FUNCTION author_article_count(a authors) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$ SELECT count(*) FROM articles WHERE articles.author_id = a.id $$;

-- A custom query root field (Hasura: a STABLE function returning SETOF a tracked table).
CREATE FUNCTION search_articles(search text) RETURNS SETOF articles
    LANGUAGE sql STABLE
    AS $$
        SELECT *
          FROM articles
         WHERE title ILIKE '%' || search || '%'
            OR body  ILIKE '%' || search || '%'
    $$;

INSERT INTO article_status (value, comment) VALUES
    ('draft',     'Being written'),
    ('review',    'Waiting for an editor'),
    ('published', 'Visible to readers'),
    ('archived',  'No longer listed');

INSERT INTO authors (id, name, email, bio, created_at) VALUES
    (1, 'Ada Lovelace',     'ada@example.com',     'Writes about analytical engines.', '2024-01-01 09:00:00+00'),
    (2, 'Alan Turing',      'alan@example.com',    'Computability and codebreaking.',  '2024-01-02 10:30:00+00'),
    (3, 'Grace Hopper',     'grace@example.com',   NULL,                               '2024-01-03 11:45:00+00'),
    (4, 'Edsger Dijkstra',  NULL,                  'Goto considered harmful.',         '2024-01-04 08:15:00+00'),
    (5, 'Barbara Liskov',   'barbara@example.com', 'Substitution principles.',         '2024-01-05 14:00:00+00');
-- Barbara (5) has no articles yet: an empty array relationship.
ALTER SEQUENCE authors_id_seq RESTART WITH 6;

INSERT INTO articles (id, author_id, title, body, published, rating, tags, metadata, published_at, status) VALUES
    ( 1, 1, 'Notes on the Analytical Engine', 'The engine weaves algebraic patterns.', true,  4.8, '{history,computing}', '{"words": 1200, "featured": true}',                 '2024-02-01 12:00:00+00', 'published'),
    ( 2, 1, 'Bernoulli Numbers by Machine',    'A program for computing Bernoulli numbers.', true, 4.5, '{math,programs}', '{"words": 2400, "featured": false}',          '2024-02-15 12:00:00+00', 'published'),
    ( 3, 1, 'Poetical Science',                NULL,                                     false, NULL, NULL,                   NULL,                                               NULL,                     'draft'),
    ( 4, 2, 'On Computable Numbers',           'We define a computing machine.',         true,  5.0, '{math,theory}',       '{"words": 9000, "featured": true, "refs": [1, 2]}', '2024-03-01 09:00:00+00', 'published'),
    ( 5, 2, 'Computing Machinery and Intelligence', 'Can machines think?',               true,  4.9, '{ai,philosophy}',     '{"words": 6000}',                                  '2024-03-10 09:00:00+00', 'published'),
    ( 6, 2, 'The Chemical Basis of Morphogenesis', 'Patterns in reaction-diffusion.',    false, 3.9, '{biology}',           '{}',                                               NULL,                     'review'),
    ( 7, 3, 'The First Compiler',              'A-0 translated symbolic code.',          true,  4.2, '{compilers,history}', '{"words": 800, "lang": "en"}',                     '2024-04-01 15:30:00+00', 'published'),
    ( 8, 3, 'Nanoseconds Explained',           'A nanosecond is about a foot of wire.',  true,  4.7, '{hardware}',          '{"words": 500, "props": ["wire"]}',                '2024-04-12 15:30:00+00', 'published'),
    ( 9, 3, 'COBOL for Business',              'English-like data processing.',          false, NULL, '{}',                 NULL,                                               NULL,                     NULL),
    (10, 4, 'Go To Statement Considered Harmful', 'The quality of programmers decreases with gotos.', true, 4.6, '{programming,style}', '{"words": 1500, "letter": true}', '2024-05-01 08:00:00+00', 'published'),
    (11, 4, 'A Note on Two Problems in Connexion with Graphs', 'Shortest paths, the easy way.', true, 4.95, '{graphs,algorithms}', '{"words": 1100}',                     '2024-05-20 08:00:00+00', 'published'),
    (12, 4, 'On the Cruelty of Really Teaching Computing Science', 'Radical novelty.',    false, 3.5, '{teaching}',          '{"words": 7000, "featured": false}',               '2024-06-01 08:00:00+00', 'archived');
ALTER SEQUENCE articles_id_seq RESTART WITH 13;

INSERT INTO comments (id, article_id, author_id, body, created_at) VALUES
    ( 1,  1, 2,    'A remarkable vision.',                    '2024-02-02 10:00:00+00'),
    ( 2,  1, 3,    'Could it compile, though?',               '2024-02-02 11:00:00+00'),
    ( 3,  1, NULL, 'Anonymous applause.',                     '2024-02-03 09:00:00+00'),
    ( 4,  2, 4,    'Elegant, if a little long.',              '2024-02-16 08:00:00+00'),
    ( 5,  2, 2,    'I checked the numbers.',                  '2024-02-16 09:30:00+00'),
    ( 6,  4, 1,    'The machine I always imagined.',          '2024-03-02 12:00:00+00'),
    ( 7,  4, 5,    'Substitutable machines?',                 '2024-03-02 13:00:00+00'),
    ( 8,  4, 3,    'Now make it practical.',                  '2024-03-03 07:45:00+00'),
    ( 9,  4, NULL, 'Halting is hard.',                        '2024-03-04 18:20:00+00'),
    (10,  5, 1,    'Machines will compose music.',            '2024-03-11 10:00:00+00'),
    (11,  5, 4,    'The question is ill-posed.',              '2024-03-11 11:00:00+00'),
    (12,  5, 5,    'Define "think".',                         '2024-03-12 16:00:00+00'),
    (13,  7, 2,    'Automatic programming, at last.',         '2024-04-02 09:00:00+00'),
    (14,  7, 4,    'Compilers deserve proofs.',               '2024-04-02 10:15:00+00'),
    (15,  8, 1,    'I keep a nanosecond on my desk.',         '2024-04-13 08:00:00+00'),
    (16,  8, NULL, 'Great demo.',                             '2024-04-13 09:00:00+00'),
    (17, 10, 3,    'Sometimes a jump is fine.',               '2024-05-02 14:00:00+00'),
    (18, 10, 5,    'Structure wins.',                         '2024-05-02 15:00:00+00'),
    (19, 11, 2,    'Beautifully short.',                      '2024-05-21 12:00:00+00'),
    (20, 11, 1,    'Works on my graph.',                      '2024-05-22 12:00:00+00');
ALTER SEQUENCE comments_id_seq RESTART WITH 21;

COMMIT;
