\i pg_test/include/settings.psql
-- Mutations run inside the caller's transaction; this file rolls back what it writes.
BEGIN;
SELECT graphql.resolve('mutation { insert_authors_one(object: {name: "Nested", email: "n@example.com", articles: {data: [{title: "N1", comments: {data: [{body: "c1"}]}}, {title: "N2"}]}}) { name articles(order_by: {title: asc}) { title comments { body } } } }');
SELECT graphql.resolve('mutation { insert_articles_one(object: {title: "With author", author: {data: {name: "Parent"}}}) { title author { name } } }');
SELECT graphql.resolve('mutation { insert_authors(objects: [{name: "A", email: "a@x"}, {name: "B"}]) { affected_rows returning { name email } } }');
SELECT graphql.resolve('mutation { insert_authors(objects: [{id: 1, name: "Renamed"}], on_conflict: {constraint: authors_pkey, update_columns: [name]}) { affected_rows returning { id name } } }');
SELECT graphql.resolve('mutation { insert_authors(objects: [{id: 1, name: "Ignored"}], on_conflict: {constraint: authors_pkey, update_columns: []}) { affected_rows } }');
SELECT graphql.resolve('mutation { update_articles(where: {id: {_eq: 1}}, _inc: {rating: 1}, _set: {title: "Updated"}, _append: {metadata: {edited: true}}) { affected_rows returning { id title metadata } } }');
SELECT graphql.resolve('mutation { update_articles_by_pk(pk_columns: {id: 2}, _set: {published: true}) { id published } }');
SELECT graphql.resolve('mutation { update_authors_many(updates: [{where: {id: {_eq: 1}}, _set: {bio: "one"}}, {where: {id: {_eq: 2}}, _set: {bio: "two"}}]) { affected_rows returning { id bio } } }');
SELECT graphql.resolve('mutation { delete_comments(where: {article_id: {_eq: 1}}) { affected_rows } }');
SELECT graphql.resolve('mutation { delete_comments_by_pk(id: 999999) { id } }');
-- A failing second field leaves the first field's row absent (all or nothing).
SELECT graphql.resolve('mutation { a: insert_authors_one(object: {name: "Ghost"}) { id } b: insert_articles_one(object: {author_id: 999999, title: "x"}) { id } }');
SELECT count(*) FROM authors WHERE name = 'Ghost';
SELECT graphql.resolve('mutation { insert_authors_one(object: {id: 1, name: "dup"}) { id } }');
SELECT graphql.resolve('mutation { insert_articles_one(object: {author_id: 1}) { id } }');
ROLLBACK;
