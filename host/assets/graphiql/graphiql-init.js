// Doitong's GraphiQL: the API next to this page, subscriptions over
// /graphql/ws, your key in the Headers tab. Loaded from the gateway itself:
// no CDN, nothing leaves this origin.
(function () {
  var page = new URL(window.location.href);
  var endpoint = page.origin + page.pathname.replace(/\/$/, "");
  var socket = endpoint.replace(/^http/, "ws") + "/ws";
  var stored = window.localStorage.getItem("doitong.apiKey");
  var headers = stored ? { Authorization: "Bearer " + stored } : {};
  var fetcher = GraphiQL.createFetcher({
    url: endpoint,
    subscriptionUrl: socket,
    headers: headers,
    wsConnectionParams: headers,
  });
  var example =
    "# Put your key in Headers: {\"Authorization\": \"Bearer dt_test_…\"}\n" +
    "mutation {\n  generate(input: { type: IMAGE, input: { text: \"A lighthouse at dusk\" } }) {\n" +
    "    id status provider creditCost\n  }\n}\n";
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: example,
      defaultHeaders: JSON.stringify(headers, null, 2),
      defaultEditorToolsVisibility: true,
      shouldPersistHeaders: true,
    })
  );
})();
