// Graft's console: GraphiQL against this server's /v1/graphql. Headers typed in the
// headers editor (the admin secret, a JWT) are sent with every request and kept in
// localStorage.
(function () {
  var url = new URL("/v1/graphql", window.location.href).toString();
  var fetcher = GraphiQL.createFetcher({ url: url });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: "headers",
      defaultHeaders: '{\n  "x-hasura-admin-secret": ""\n}',
    })
  );
})();
