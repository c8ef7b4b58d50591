\i pg_test/include/settings.psql
-- Queries: filters with every operator family, ordering, pagination, distinct_on,
-- relationships three levels deep, aggregates, variables, fragments, directives.
SELECT graphql.resolve('{ authors(order_by: {id: asc}, limit: 2) { id name articles(order_by: {id: asc}, limit: 2) { title comments(order_by: {id: asc}, limit: 1) { body author { name } } } } }');
SELECT graphql.resolve('{ authors_by_pk(id: 1) { name email } }');
SELECT graphql.resolve('{ articles(where: {_and: [{published: {_eq: true}}, {rating: {_gte: 3}}]}, order_by: [{rating: desc_nulls_last}, {id: asc}]) { id rating } }');
SELECT graphql.resolve('{ articles(where: {_or: [{title: {_ilike: "%COMPUT%"}}, {title: {_regex: "^Nano"}}]}, order_by: {id: asc}) { id title } }');
SELECT graphql.resolve('{ articles(where: {_not: {published: {_eq: true}}}, order_by: {id: asc}) { id published } }');
SELECT graphql.resolve('{ articles(where: {id: {_in: [1, 2, 3]}, title: {_nlike: "%zzz%"}}, order_by: {id: desc}) { id } }');
SELECT graphql.resolve('{ articles(where: {tags: {_contains: ["history"]}}, order_by: {id: asc}) { id tags } }');
SELECT graphql.resolve('{ articles(where: {metadata: {_has_key: "featured"}}, order_by: {id: asc}, limit: 3) { id metadata } }');
SELECT graphql.resolve('{ articles(where: {author: {name: {_eq: "Ada Lovelace"}}}, order_by: {id: asc}) { id author { name } } }');
SELECT graphql.resolve('{ authors(where: {articles: {published: {_eq: false}}}, order_by: {id: asc}) { id } }');
SELECT graphql.resolve('{ authors(order_by: {articles_aggregate: {count: desc}}, limit: 3) { name articles_aggregate { aggregate { count } } } }');
SELECT graphql.resolve('{ articles(order_by: {author: {name: asc}}, limit: 3, offset: 1) { id author { name } } }');
SELECT graphql.resolve('{ articles(distinct_on: author_id, order_by: [{author_id: asc}, {id: desc}]) { author_id id } }');
SELECT graphql.resolve('{ articles_aggregate(where: {published: {_eq: true}}) { aggregate { count sum { rating } avg { rating } max { rating published_at } min { title } } } }');
SELECT graphql.resolve('{ articles_aggregate { aggregate { count(columns: [author_id], distinct: true) } } }');
SELECT graphql.resolve('{ authors(where: {articles_aggregate: {count: {predicate: {_gt: 2}}}}, order_by: {id: asc}) { id } }');
SELECT graphql.resolve('query Q($id: Int!) { authors_by_pk(id: $id) { ...A } } fragment A on authors { name __typename }', '{"id": 2}');
SELECT graphql.resolve('query Q($skip: Boolean!) { authors(limit: 1, order_by: {id: asc}) { id name @skip(if: $skip) ... on authors { email @include(if: $skip) } } }', '{"skip": true}');
SELECT graphql.resolve('query A { authors(limit: 1) { id } } query B { articles(limit: 1, order_by: {id: asc}) { id } }', NULL, NULL, 'B');
SELECT graphql.resolve('{ __typename first: authors(limit: 1, order_by: {id: asc}) { id } second: authors(limit: 1, order_by: {id: desc}) { id } }');
SELECT graphql.resolve('{ articles(where: {metadata: {_contains: {featured: true}}}, order_by: {id: asc}) { id metadata(path: "$.words") } }');
SELECT graphql.resolve('{ articles(where: {metadata: {_has_keys_any: ["lang", "letter"]}, title: {_similar: "%(First|Go)%"}}, order_by: {id: asc}) { id } }');
SELECT graphql.resolve('{ articles(where: {tags: {_contained_in: ["math", "theory", "programs"]}, rating: {_lte: 5, _neq: 4.5}}, order_by: {id: asc}) { id tags } }');
SELECT graphql.resolve('{ articles(where: {rating: {_is_null: true}}, order_by: {id: asc}) { id } }');
SELECT graphql.resolve('{ articles(where: {id: {_nin: [1, 2, 3, 4, 5, 6, 7, 8]}, title: {_niregex: "cobol"}}, order_by: {id: asc}) { id } }');
SELECT graphql.resolve('{ articles(where: {metadata: {_cast: {String: {_like: "%refs%"}}}}) { id } }');
SELECT graphql.resolve('{ authors(order_by: {id: asc}, limit: 2) { name article_count: author_article_count } }');
SELECT graphql.resolve('{ search_articles(args: {search: "comput"}, order_by: {id: asc}) { id title } }');
SELECT graphql.resolve('{ published_articles(order_by: {id: asc}, limit: 2) { id title } }');
SELECT graphql.resolve('query ($n: Int = 2) { articles(limit: $n, offset: 1, order_by: {published_at: asc_nulls_first}) { id published_at } }');
