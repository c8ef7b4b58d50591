// Prints the introspection query graphql-js 17 sends with every option on (what GraphiQL and
// codegen tools send, and then some).
import { getIntrospectionQuery } from 'graphql';

process.stdout.write(getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  oneOf: true,
}));
