//! `#[pg_test]`s: the SQL API end to end inside a real backend.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn fixture() {
        Spi::run(
            "CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL, meta jsonb);
             CREATE TABLE article (id serial PRIMARY KEY, author_id int NOT NULL REFERENCES author,
                                   title text NOT NULL, published_at timestamptz);
             INSERT INTO author (name) VALUES ('Ann'), ('Bob');
             INSERT INTO article (author_id, title) VALUES (1, 'Rust'), (1, 'SQL'), (2, 'GraphQL');",
        )
        .unwrap();
        Spi::run("SELECT graphql.track_all('public')").unwrap();
    }

    fn resolve(q: &str) -> serde_json::Value {
        let text: String = Spi::get_one_with_args("SELECT graphql.resolve($1)::text", &[q.into()]).unwrap().unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[pg_test]
    fn nested_query_through_relationships() {
        fixture();
        let v = resolve("{ author(order_by: {id: asc}) { name articles(order_by: {id: asc}) { title } } }");
        assert_eq!(
            v,
            serde_json::json!({"data": {"author": [
                {"name": "Ann", "articles": [{"title": "Rust"}, {"title": "SQL"}]},
                {"name": "Bob", "articles": [{"title": "GraphQL"}]}]}})
        );
    }

    #[pg_test]
    fn bad_timestamp_is_a_graphql_error_and_the_transaction_survives() {
        fixture();
        let v = resolve("{ article(where: {published_at: {_gt: \"not a date\"}}) { id } }");
        assert_eq!(v["errors"][0]["extensions"]["code"], "data-exception");
        let v = resolve("{ author_by_pk(id: 1) { name } }");
        assert_eq!(v["data"]["author_by_pk"]["name"], "Ann");
    }

    #[pg_test]
    fn failed_mutation_leaves_nothing() {
        fixture();
        let v = resolve(
            "mutation { a: insert_author_one(object: {name: \"Cy\"}) { id } b: insert_article_one(object: {author_id: 999, title: \"x\"}) { id } }",
        );
        assert_eq!(v["errors"][0]["extensions"]["code"], "constraint-violation", "{v}");
        let n: i64 = Spi::get_one("SELECT count(*) FROM author WHERE name = 'Cy'").unwrap().unwrap();
        assert_eq!(n, 0);
    }

    #[pg_test]
    fn new_column_appears_after_ddl() {
        fixture();
        let v = resolve("{ author { nickname } }");
        assert_eq!(v["errors"][0]["extensions"]["code"], "validation-failed");
        Spi::run("ALTER TABLE author ADD COLUMN nickname text").unwrap();
        let v = resolve("{ author(limit: 1) { nickname } }");
        assert_eq!(v["data"]["author"][0]["nickname"], serde_json::Value::Null, "{v}");
    }

    #[pg_test]
    fn session_is_visible_to_triggers_during_mutations() {
        fixture();
        Spi::run(
            "CREATE TABLE audit (who text);
             CREATE FUNCTION audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN INSERT INTO audit VALUES (current_setting('hasura.user', true)::json->>'x-hasura-user-id'); RETURN NEW; END $$;
             CREATE TRIGGER t AFTER INSERT ON author FOR EACH ROW EXECUTE FUNCTION audit_fn();",
        )
        .unwrap();
        let _: Option<String> = Spi::get_one_with_args(
            "SELECT graphql.resolve($1, NULL, '{\"x-hasura-user-id\": \"42\"}')::text",
            &["mutation { insert_author_one(object: {name: \"Dee\"}) { id } }".into()],
        )
        .unwrap();
        let who: Option<String> = Spi::get_one("SELECT who FROM audit").unwrap();
        assert_eq!(who.as_deref(), Some("42"));
    }

    #[pg_test]
    fn execute_is_revoked_from_public() {
        let granted: bool = Spi::get_one(
            "SELECT has_function_privilege('public', 'graphql.resolve(text, json, json, text)', 'EXECUTE')",
        )
        .unwrap()
        .unwrap();
        assert!(!granted);
    }

}
