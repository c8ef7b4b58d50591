\i pg_test/include/settings.psql
SELECT graphql.resolve('{ __type(name: "authors") { kind name fields { name type { kind name ofType { kind name } } } } }');
SELECT graphql.resolve('{ __schema { queryType { name } mutationType { name } subscriptionType { name } directives { name } } }');
SELECT graphql.resolve('{ __type(name: "String_comparison_exp") { inputFields { name } } }');
