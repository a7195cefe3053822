// The Doitong console: the API's own pages for people. Plain ES modules,
// no framework, no build step, nothing loaded from another origin: it
// talks to this gateway's /graphql, /graphql/ws and /uploads only, with
// the API key kept in this browser (localStorage) and nowhere else.

const KEY = "doitong.apiKey"; // shared with GraphiQL's page
const base = new URL(".", document.baseURI);
const endpoint = new URL("graphql", base).href;
const socketUrl = endpoint.replace(/^http/, "ws") + "/ws";
const main = document.getElementById("main");

// ---------------------------------------------------------------- helpers

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Whether a page was shown already: the first one leaves focus where the browser put it (the skip link and nav come first). */
let shown = false;

function show(title, ...content) {
  main.replaceChildren(h("h1", { text: title }), ...content.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  document.title = `${title} · Doitong console`;
  // After a navigation, focus (and a screen reader) moves to the new page.
  if (shown) main.focus();
  shown = true;
}

function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  setTimeout(() => { if (box.textContent === message) box.textContent = ""; }, 4000);
}

const key = () => window.localStorage.getItem(KEY) || "";

class ApiError extends Error {
  constructor(error) {
    super(error.message || "the request failed");
    this.code = (error.extensions && error.extensions.code) || "ERROR";
    this.extensions = error.extensions || {};
  }
}

function errorBox(e) {
  const hint = {
    UNAUTHENTICATED: "Sign in again with a valid key.",
    INSUFFICIENT_CREDITS: "Add credits to the account.",
    RATE_LIMIT: "Wait a moment and retry.",
    INVALID_INPUT: "Fix the highlighted field, or tick “adjust options”.",
    PROVIDER_UNAVAILABLE: "Retry later, or let the gateway choose a provider.",
    GENERATION_FAILED: "Change the prompt or options and retry; credits were refunded.",
    FORBIDDEN: "This needs a live key.",
  }[e.code];
  return h("p", { class: "error", role: "alert" }, `${e.code || "ERROR"}: ${e.message}`, hint ? ` — ${hint}` : "");
}

async function gql(query, variables = {}, headers = {}) {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${key()}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json().catch(() => ({ errors: [{ message: `HTTP ${response.status}` }] }));
  if (body.errors && body.errors.length) {
    const error = new ApiError(body.errors[0]);
    if (error.code === "UNAUTHENTICATED") { window.localStorage.removeItem(KEY); renderWho(null); }
    throw error;
  }
  return { data: body.data, extensions: body.extensions || {} };
}

/** One subscription over graphql-transport-ws; returns a function that stops it. */
function subscribe(query, variables, onData, onEnd) {
  const socket = new WebSocket(socketUrl, "graphql-transport-ws");
  let ended = false;
  const end = (error) => { if (!ended) { ended = true; onEnd(error); } };
  socket.onopen = () => socket.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${key()}` } }));
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "connection_ack") {
      socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables } }));
    } else if (message.type === "next") {
      if (message.payload.errors) end(new ApiError(message.payload.errors[0]));
      else onData(message.payload.data);
    } else if (message.type === "error") {
      end(new ApiError(message.payload[0] || {}));
    } else if (message.type === "complete") {
      end(null);
      socket.close();
    } else if (message.type === "ping") {
      socket.send(JSON.stringify({ type: "pong" }));
    }
  };
  socket.onerror = () => end(new Error("the live connection failed"));
  socket.onclose = () => end(null);
  return () => { ended = true; socket.close(); };
}

// ------------------------------------------------------------- sign in

async function renderWho(account) {
  const who = document.getElementById("who");
  if (!account) { who.replaceChildren(); return; }
  who.replaceChildren(
    `${account.name} · ${account.plan} · ${account.credits} credits · `,
    h("span", { class: account.testMode ? "warn" : "ok" }, account.testMode ? "test key" : "live key"), " ",
    h("button", { class: "secondary", type: "button", onclick: signOut }, "Sign out"),
  );
}

function signOut() {
  window.localStorage.removeItem(KEY);
  renderWho(null);
  window.location.hash = "#/";
}

function signIn() {
  const input = h("input", { id: "key", type: "password", autocomplete: "off", required: true, placeholder: "dt_test_… or dt_live_…" });
  const status = h("div", { "aria-live": "polite" });
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      window.localStorage.setItem(KEY, input.value.trim());
      try {
        const { data } = await gql("{ account { name plan credits testMode } }");
        renderWho(data.account);
        window.location.hash = "#/catalogue";
      } catch (e) {
        window.localStorage.removeItem(KEY);
        status.replaceChildren(errorBox(e));
      }
    },
  },
  h("label", { for: "key" }, "API key", h("small", {}, "Kept in this browser only. The server prints a test key on its first start."), input),
  h("button", { type: "submit" }, "Sign in"), status);
  show("Sign in", form);
  input.focus();
}

// ----------------------------------------------------------- catalogue

const PROVIDER_FIELDS = `id name vendor description types inputs features available
  pricing { creditCost estimatedTime } health { state successRate sampleSize }
  options { name type required description allowedValues default minimum maximum }`;

let catalogue = null;
async function providers() {
  if (!catalogue) catalogue = (await gql(`{ providers { ${PROVIDER_FIELDS} } }`)).data.providers;
  return catalogue;
}

/** The portal's groups: video, image, image-to-video, avatar and speech. */
function groups(list) {
  return [
    ["Video", list.filter((p) => p.types.includes("VIDEO"))],
    ["Image", list.filter((p) => p.types.includes("IMAGE"))],
    ["Image to video", list.filter((p) => p.types.includes("VIDEO") && p.inputs.includes("image"))],
    ["Avatar & speech", list.filter((p) => p.types.includes("AVATAR") || p.types.includes("AUDIO"))],
  ];
}

function providerCard(p) {
  const health = p.health || {};
  const rate = health.successRate == null ? "no data yet" : `${Math.round(health.successRate * 100)}% ok`;
  return h("article", { class: "card" },
    h("h3", {}, p.name || p.id),
    h("div", { class: "muted" }, `${p.vendor} · ${p.id}`),
    h("p", {}, p.description),
    h("div", {}, p.types.map((t) => h("span", { class: "tag" }, t.toLowerCase())), p.features.slice(0, 4).map((f) => h("span", { class: "tag" }, f))),
    h("p", { class: "muted" }, `${p.pricing.creditCost} credits · ~${p.pricing.estimatedTime} s · `,
      h("span", { class: p.available ? "ok" : "bad" }, p.available ? "available" : "not configured"),
      ` · ${(health.state || "CLOSED").toLowerCase()} (${rate})`),
    h("p", { class: "muted" }, p.options.length ? `Options: ${p.options.map((o) => o.name).join(", ")}` : "No options"),
    h("a", { href: `#/playground?provider=${encodeURIComponent(p.id)}` }, `Try ${p.name || p.id}`),
  );
}

async function renderCatalogue() {
  const list = await providers();
  show("Catalogue", h("p", { class: "muted" }, `${list.length} offerings from the loaded plugins.`),
    groups(list).map(([title, items]) => [h("h2", {}, `${title} (${items.length})`), h("div", { class: "grid" }, items.map(providerCard))]));
}

// ---------------------------------------------------------- playground

function optionField(option) {
  const id = `opt-${option.name}`;
  const hint = [option.description, option.default != null ? `default ${JSON.stringify(option.default)}` : "",
    option.minimum != null || option.maximum != null ? `${option.minimum ?? "…"} to ${option.maximum ?? "…"}` : ""]
    .filter(Boolean).join(" · ");
  let input;
  if (option.allowedValues.length) {
    input = h("select", { id, name: option.name },
      option.required ? null : h("option", { value: "" }, "(default)"),
      option.allowedValues.map((v) => h("option", { value: JSON.stringify(v) }, String(v))));
  } else if (option.type === "flag") {
    input = h("select", { id, name: option.name }, h("option", { value: "" }, "(default)"), h("option", { value: "true" }, "yes"), h("option", { value: "false" }, "no"));
  } else if (option.type === "integer" || option.type === "number") {
    input = h("input", { id, name: option.name, type: "number", step: option.type === "integer" ? 1 : "any", min: option.minimum ?? undefined, max: option.maximum ?? undefined });
  } else {
    input = h("input", { id, name: option.name, type: "text" });
  }
  input.dataset.kind = option.type;
  return h("label", { for: id }, option.name, h("small", {}, hint), input);
}

function readOptions(form) {
  const options = {};
  for (const input of form.querySelectorAll("[data-kind]")) {
    if (input.value === "") continue;
    const kind = input.dataset.kind;
    if (input.tagName === "SELECT") options[input.name] = JSON.parse(input.value);
    else if (kind === "integer" || kind === "number") options[input.name] = Number(input.value);
    else options[input.name] = input.value;
  }
  return options;
}

async function uploadFile(file) {
  const response = await fetch(new URL("uploads", base), { method: "POST", headers: { Authorization: `Bearer ${key()}` }, body: file });
  const body = await response.json();
  if (!response.ok) throw new ApiError((body.errors || [{}])[0]);
  return body.id;
}

function snippets(input, lenient) {
  const query = "mutation($input: GenerateInput!) { generate(input: $input) { id status provider creditCost } }";
  const payload = JSON.stringify({ query, variables: { input } });
  const origin = new URL(".", base).href.replace(/\/$/, "");
  const prefer = lenient ? ` -H 'Prefer: handling=lenient'` : "";
  return {
    curl: `curl -s ${endpoint} \\\n  -H "Authorization: Bearer $DOITONG_API_KEY" -H 'Content-Type: application/json'${prefer} \\\n  -d '${payload.replace(/'/g, "'\\''")}'`,
    JavaScript: `const response = await fetch("${endpoint}", {\n  method: "POST",\n  headers: { "Content-Type": "application/json", Authorization: \`Bearer \${process.env.DOITONG_API_KEY}\`${lenient ? ', Prefer: "handling=lenient"' : ""} },\n  body: JSON.stringify(${JSON.stringify({ query, variables: { input } }, null, 2).replace(/\n/g, "\n  ")}),\n});\nconsole.log((await response.json()).data.generate);`,
    Python: `import os, requests\n\nresponse = requests.post(\n    "${endpoint}",\n    headers={"Authorization": f"Bearer {os.environ['DOITONG_API_KEY']}"${lenient ? ', "Prefer": "handling=lenient"' : ""}},\n    json=${JSON.stringify({ query, variables: { input } }, null, 4).replace(/\n/g, "\n    ").replace(/\btrue\b/g, "True").replace(/\bfalse\b/g, "False").replace(/\bnull\b/g, "None")},\n)\nprint(response.json()["data"]["generate"])`,
    _origin: origin,
  };
}

/** The snippet in curl, JavaScript and Python: a WAI-ARIA tab set (arrow keys move between the tabs). */
function snippetTabs(input, lenient) {
  const all = snippets(input, lenient);
  const code = h("pre", { id: "snippet", role: "tabpanel", tabindex: "0" });
  const names = ["curl", "JavaScript", "Python"];
  const select = (chosen) => {
    for (const b of buttons) {
      const on = b === chosen;
      b.setAttribute("aria-selected", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
    }
    code.textContent = all[chosen.textContent];
    code.setAttribute("aria-labelledby", chosen.id);
  };
  const buttons = names.map((name) => h("button", {
    type: "button", role: "tab", id: `tab-${name}`, "aria-controls": "snippet",
    onclick: (event) => select(event.target),
    onkeydown: (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = buttons[(buttons.indexOf(event.target) + step + buttons.length) % buttons.length];
      select(next);
      next.focus();
    },
  }, name));
  select(buttons[0]);
  const copy = h("button", { type: "button", class: "secondary", onclick: async () => {
    try { await navigator.clipboard.writeText(code.textContent); toast("Copied"); } catch { toast("Select the code to copy it"); }
  } }, "Copy");
  return h("section", { "aria-label": "Snippet" }, h("h2", {}, "The same request in code"),
    h("div", { class: "tabs" }, h("div", { class: "tabs", role: "tablist", "aria-label": "Language" }, buttons), copy), code);
}

/** The element for a result, by its MIME type (test-mode videos are animated GIFs). */
function mediaFor(generation) {
  if (!generation.url) return null;
  const mime = (generation.metadata && generation.metadata.mimeType) || "";
  if (mime.startsWith("image/") || (!mime && generation.type === "IMAGE")) {
    return h("img", { src: generation.url, alt: `Result of ${generation.id}` });
  }
  if (mime.startsWith("audio/")) return h("audio", { src: generation.url, controls: true });
  return h("video", { src: generation.url, controls: true, playsinline: true, preload: "metadata" });
}

async function renderPlayground(params) {
  const list = await providers();
  const chosen = params.get("provider") || (list.find((p) => p.types.includes("IMAGE")) || list[0] || {}).id;
  const provider = list.find((p) => p.id === chosen);
  const select = h("select", { id: "provider", onchange: (e) => { window.location.hash = `#/playground?provider=${encodeURIComponent(e.target.value)}`; } },
    groups(list).slice(0, 2).concat([groups(list)[3]]).map(([title, items]) =>
      h("optgroup", { label: title }, items.map((p) => h("option", { value: p.id, selected: p.id === chosen }, `${p.name || p.id} (${p.id})`)))));
  if (!provider) { show("Playground", h("p", {}, "No provider is loaded.")); return; }
  const typeSelect = h("select", { id: "type" }, provider.types.map((t) => h("option", { value: t }, t.toLowerCase())));
  const prompt = h("textarea", { id: "prompt", required: provider.inputs.includes("text"), placeholder: "A red fox running through fresh snow" });
  const image = provider.inputs.includes("image")
    ? h("label", { for: "image" }, "Image", h("small", {}, "A file (uploaded to this gateway) or leave empty"), h("input", { id: "image", type: "file", accept: "image/*" }))
    : null;
  const lenient = h("input", { id: "lenient", type: "checkbox" });
  const out = h("div", { "aria-live": "polite" });
  const button = h("button", { type: "submit" }, "Generate");
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      button.disabled = true;
      out.replaceChildren(h("p", {}, "Starting…"));
      try {
        const input = { type: typeSelect.value, provider: provider.id, input: { text: prompt.value }, options: readOptions(form) };
        const file = image && image.querySelector("input").files[0];
        if (file) input.input.image = await uploadFile(file);
        const headers = { "Idempotency-Key": crypto.randomUUID() };
        if (lenient.checked) headers.Prefer = "handling=lenient";
        const { data, extensions } = await gql("mutation($input: GenerateInput!) { generate(input: $input) { id status type provider creditCost progress url } }", { input }, headers);
        follow(data.generate, out, extensions.warnings || []);
        main.append(snippetTabs(input, lenient.checked));
      } catch (e) {
        out.replaceChildren(errorBox(e));
      } finally {
        button.disabled = false;
      }
    },
  },
  h("label", { for: "provider" }, "Provider", select),
  h("p", { class: "muted" }, provider.description, ` · ${provider.pricing.creditCost} credits with default options`),
  h("label", { for: "type" }, "Type", typeSelect),
  h("label", { for: "prompt" }, "Prompt", prompt),
  image,
  provider.options.map(optionField),
  h("label", { for: "lenient", class: "inline" }, h("span", {}, lenient, " Adjust options the provider does not take (Prefer: handling=lenient)")),
  button);
  show("Playground", form, out);
}

function follow(generation, out, warnings) {
  const bar = h("progress", { max: 100, value: generation.progress || 0, "aria-label": "Progress" });
  const status = h("p", { id: "gen-status" }, `${generation.id}: ${generation.status.toLowerCase()}`);
  const result = h("div", { class: "result" });
  const changed = warnings.length ? [h("ul", { class: "warn" }, warnings.map((w) => h("li", {}, `${w.field}: ${w.message}`)))] : [];
  out.replaceChildren(...changed, status, bar, h("p", { class: "muted" }, `${generation.creditCost} credits on ${generation.provider}`), result);
  const done = (g) => {
    status.textContent = `${g.id}: ${g.status.toLowerCase()}`;
    bar.value = g.status === "COMPLETED" ? 100 : g.progress;
    if (g.status === "COMPLETED") result.replaceChildren(mediaFor(g) || "");
    if (g.status === "FAILED" && g.error) result.replaceChildren(errorBox({ code: g.error.code, message: g.error.message }));
  };
  const query = "subscription($id: ID!) { generationUpdated(id: $id) { id status type progress url metadata { mimeType } error { code message } } }";
  subscribe(query, { id: generation.id }, (data) => done(data.generationUpdated), (error) => {
    if (error) status.append(" (live updates stopped: ", error.message, ")");
  });
}

// -------------------------------------------------------- generations

async function renderGenerations() {
  const { data } = await gql("{ generations(first: 25) { nodes { id status type provider creditCost createdAt url } } }");
  const rows = data.generations.nodes.map((g) => h("tr", {},
    h("td", {}, g.url ? h("a", { href: g.url }, g.id) : g.id), h("td", {}, g.status.toLowerCase()), h("td", {}, g.type.toLowerCase()),
    h("td", {}, g.provider), h("td", {}, g.creditCost), h("td", {}, new Date(g.createdAt).toLocaleString())));
  show("Recent generations", rows.length
    ? h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, ["Generation", "Status", "Type", "Provider", "Credits", "Created"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows)))
    : h("p", {}, "Nothing yet: try the ", h("a", { href: "#/playground" }, "playground"), "."));
}

// ------------------------------------------------------------ account

async function renderAccount() {
  const { data } = await gql("{ account { id name plan credits testMode limits { rpm concurrent daily } usage { requestsThisMinute activeJobs generationsToday } } creditTransactions(first: 10) { nodes { kind amount balanceAfter createdAt } } }");
  const a = data.account;
  renderWho(a);
  const limit = (n) => (n == null ? "unlimited" : n);
  show("Account",
    h("div", { class: "grid" },
      h("div", { class: "card" }, h("h2", {}, "Credits"), h("p", { style: "font-size:1.6rem;margin:0" }, a.credits), h("p", { class: "muted" }, `${a.name} · ${a.plan} plan · ${a.id}`)),
      h("div", { class: "card" }, h("h2", {}, "Limits and use"),
        h("p", {}, `Writes this minute: ${a.usage.requestsThisMinute} of ${limit(a.limits.rpm)}`),
        h("p", {}, `Running: ${a.usage.activeJobs} of ${limit(a.limits.concurrent)}`),
        h("p", {}, `Generations today: ${a.usage.generationsToday} of ${limit(a.limits.daily)}`))),
    h("h2", {}, "Credit transactions"),
    h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, ["Kind", "Amount", "Balance", "When"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, data.creditTransactions.nodes.map((t) => h("tr", {}, h("td", {}, t.kind.toLowerCase()), h("td", {}, t.amount), h("td", {}, t.balanceAfter), h("td", {}, new Date(t.createdAt).toLocaleString())))))));
}

// --------------------------------------------------------------- keys

async function renderKeys() {
  const [{ data }, { data: me }] = await Promise.all([gql("{ apiKeys { id prefix testMode createdAt revokedAt } }"), gql("{ account { testMode } }")]);
  const fresh = h("div", { "aria-live": "polite" });
  const create = (test) => async () => {
    try {
      const { data: made } = await gql("mutation($t: Boolean!) { createKey(test: $t) { key apiKey { id } } }", { t: test });
      await renderKeys();
      document.getElementById("fresh-key").replaceChildren(
        h("p", {}, "Your new key, shown this once:"), h("p", { class: "secret", id: "new-key" }, made.createKey.key));
    } catch (e) { fresh.replaceChildren(errorBox(e)); }
  };
  const revoke = (id) => async () => {
    if (!window.confirm(`Revoke ${id}? Requests with it will be refused.`)) return;
    try { await gql("mutation($id: ID!) { revokeKey(id: $id) }", { id }); toast(`Revoked ${id}`); await renderKeys(); } catch (e) { fresh.replaceChildren(errorBox(e)); }
  };
  const rows = data.apiKeys.map((k) => h("tr", {},
    h("td", {}, `${k.prefix}…`), h("td", {}, k.testMode ? "test" : "live"), h("td", {}, new Date(k.createdAt).toLocaleString()),
    h("td", {}, k.revokedAt ? `revoked ${new Date(k.revokedAt).toLocaleString()}` : "active"),
    h("td", {}, k.revokedAt ? "" : h("button", { type: "button", class: "secondary", onclick: revoke(k.id), "aria-label": `Revoke ${k.prefix}` }, "Revoke"))));
  show("API keys",
    h("p", { class: "muted" }, "Test keys run on the placeholder provider and move no credits; live keys reach vendors and are billed."),
    h("div", { class: "tabs" },
      h("button", { type: "button", onclick: create(true) }, "Create a test key"),
      h("button", { type: "button", onclick: create(false), disabled: me.account.testMode, title: me.account.testMode ? "Needs a live key" : undefined }, "Create a live key")),
    h("div", { id: "fresh-key" }), fresh,
    h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, ["Key", "Mode", "Created", "State"].map((t) => h("th", { scope: "col" }, t)), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))), h("tbody", {}, rows))));
}

// ------------------------------------------------------------- router

const routes = { "/catalogue": renderCatalogue, "/playground": renderPlayground, "/generations": renderGenerations, "/account": renderAccount, "/keys": renderKeys };

async function route() {
  const [path, query] = (window.location.hash.slice(1) || "/").split("?");
  for (const link of document.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === `#${path}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!key()) { signIn(); return; }
  const view = routes[path] || renderCatalogue;
  try {
    await view(new URLSearchParams(query || ""));
  } catch (e) {
    if (!key()) signIn();
    else show("Something went wrong", errorBox(e));
  }
}

window.addEventListener("hashchange", route);
if (key()) gql("{ account { name plan credits testMode } }").then(({ data }) => renderWho(data.account)).catch(() => {});
route();
