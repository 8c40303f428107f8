/// The console's files. Kept as Swift string literals so the one binary carries them (a
/// resource bundle would have to travel beside it).
enum ConsoleAssets {
    struct Asset: Sendable {
        var contentType: String
        var text: String
    }

    static let files: [String: Asset] = [
        "index.html": Asset(contentType: "text/html; charset=utf-8", text: indexHTML),
        "console.css": Asset(contentType: "text/css; charset=utf-8", text: css),
        "console.js": Asset(contentType: "text/javascript; charset=utf-8", text: script),
    ]

    static let indexHTML = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Chapar console</title>
    <link rel="stylesheet" href="/console/console.css">
    <script src="/console/console.js" defer></script>
    </head>
    <body>
    <header><h1>Chapar <span lang="fa" dir="rtl">چاپار</span></h1>
    <nav id="nav"></nav>
    <form id="token-form" hidden><label>API token <input id="token" type="password" autocomplete="off"></label> <button>Use</button></form>
    </header>
    <main id="page"><p>Loading…</p></main>
    </body>
    </html>
    """#

    static let css = #"""
    body { font-family: system-ui, "Vazirmatn", "Noto Sans Arabic", sans-serif; margin: 0; color: #1d2330; background: #f5f6f8; }
    header { background: #20324f; color: #fff; padding: .6rem 1rem; display: flex; gap: 1.5rem; align-items: center; flex-wrap: wrap; }
    header h1 { font-size: 1.2rem; margin: 0; }
    nav a { color: #cfe0ff; margin-right: 1rem; text-decoration: none; }
    nav a.active { color: #fff; font-weight: 600; border-bottom: 2px solid #fff; }
    main { padding: 1rem; }
    table { border-collapse: collapse; background: #fff; margin: .5rem 0 1.2rem; }
    th, td { border: 1px solid #dde1e8; padding: .3rem .55rem; text-align: left; vertical-align: top; }
    th { background: #eef1f6; }
    td.num { text-align: right; font-variant-numeric: tabular-nums; }
    .cards { display: flex; gap: .8rem; flex-wrap: wrap; }
    .card { background: #fff; border: 1px solid #dde1e8; padding: .6rem .9rem; min-width: 9rem; }
    .card .v { font-size: 1.5rem; font-weight: 600; }
    .bad { color: #a4161a; } .ok { color: #1b7a3a; }
    [dir=rtl] { unicode-bidi: isolate; }
    svg.chart { background: #fff; border: 1px solid #dde1e8; }
    pre { white-space: pre-wrap; word-break: break-word; margin: 0; }
    """#

    static let script = #"""
    "use strict";
    const pages = { overview: "Overview", topics: "Topics", groups: "Consumer groups", gateways: "Channels & gateways",
                    dead: "Dead letters", trace: "Transaction trace", customers: "Customers", inbox: "Demo inbox" };
    function token() { return sessionStorage.getItem("chapar-token") || ""; }
    async function api(path, options = {}) {
      const headers = Object.assign({ "Authorization": "Bearer " + token() }, options.headers || {});
      const r = await fetch("/v1/" + path, Object.assign({}, options, { headers }));
      if (r.status === 401) { showTokenForm(); throw new Error("the API token is missing or wrong"); }
      const body = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error((body.error && body.error.message) || r.statusText);
      return body;
    }
    function showTokenForm() { document.getElementById("token-form").hidden = false; }
    function el(tag, attrs = {}, ...children) {
      const e = document.createElement(tag);
      for (const [k, v] of Object.entries(attrs)) { if (k === "text") e.textContent = v; else e.setAttribute(k, v); }
      for (const c of children) e.append(c);
      return e;
    }
    // Text with Persian in it gets dir=auto so each cell's direction follows its own script.
    function cell(value, cls) { const td = el("td", cls ? { class: cls } : {}); td.textContent = value == null ? "" : String(value); td.dir = "auto"; return td; }
    function table(headers, rows) {
      const t = el("table");
      t.append(el("tr", {}, ...headers.map(h => el("th", { text: h }))));
      for (const r of rows) t.append(el("tr", {}, ...r.map(v => typeof v === "number" ? cell(v.toLocaleString("en"), "num") : cell(v))));
      return t;
    }
    function chart(series, color) {
      const w = 600, h = 120, max = Math.max(1, ...series);
      const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      svg.setAttribute("class", "chart"); svg.setAttribute("width", w); svg.setAttribute("height", h);
      const pts = series.map((v, i) => `${(i / Math.max(1, series.length - 1)) * w},${h - (v / max) * (h - 10)}`).join(" ");
      const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
      line.setAttribute("points", pts); line.setAttribute("fill", "none"); line.setAttribute("stroke", color); line.setAttribute("stroke-width", "2");
      svg.append(line);
      return svg;
    }
    const render = {
      async overview(main) {
        const o = await api("overview");
        const last = o.history.slice(-10);
        const rate = k => last.length ? Math.round(last.reduce((a, s) => a + k(s), 0) / last.length) : 0;
        main.append(el("div", { class: "cards" },
          card("events", o.events), card("events/s in", rate(s => s.eventsIn)),
          card("deliveries/s out", rate(s => Object.values(s.delivered).reduce((a, b) => a + b, 0))),
          card("failed attempts/s", rate(s => s.failed)), card("notifier lag", o.notifier.lag), card("phase", o.phase)));
        main.append(el("h2", { text: "Events in per second (5 min)" }), chart(o.history.map(s => s.eventsIn), "#20324f"));
        main.append(el("h2", { text: "Deliveries out per second" }), chart(o.history.map(s => Object.values(s.delivered).reduce((a, b) => a + b, 0)), "#1b7a3a"));
        main.append(el("h2", { text: "Channels" }), table(["channel", "delivering", "sent", "retries", "dead", "expired", "in flight", "backlog", "p50 ms", "p99 ms"],
          o.channels.map(c => [c.channel, c.delivering ? "yes" : "no gateway", c.statistics ? c.statistics.accepted : 0, c.statistics ? c.statistics.retries : 0,
            c.statistics ? c.statistics.dead : 0, c.statistics ? c.statistics.expired : 0, c.statistics ? c.statistics.inFlight : 0, c.backlog,
            c.latencyMilliseconds ? c.latencyMilliseconds.p50 : "", c.latencyMilliseconds ? c.latencyMilliseconds.p99 : ""])));
      },
      async topics(main) {
        const topics = await api("topics");
        main.append(table(["topic", "partitions", "records", "bytes", "fsync", "retention"],
          topics.map(t => [t.name, t.partitions.length, t.partitions.reduce((a, p) => a + p.endOffset - p.startOffset, 0),
            t.partitions.reduce((a, p) => a + p.bytes, 0), JSON.stringify(t.configuration.durability), t.configuration.retentionAge || "forever"])));
      },
      async groups(main) {
        const groups = await api("groups");
        for (const g of groups) {
          main.append(el("h2", { text: `${g.group} — ${g.members.length} member(s), generation ${g.generation}` }));
          main.append(table(["topic", "partition", "committed", "end", "lag", "owner"],
            g.partitions.map(p => [p.topic, p.partition, p.committed == null ? "—" : p.committed, p.end, p.lag, p.owner || ""])));
        }
      },
      async gateways(main) {
        const gateways = await api("gateways");
        main.append(table(["gateway", "type", "channel", "breaker", "in flight", "max", "rate/s", "accepted", "retried", "rejected", "last error"],
          gateways.map(g => [g.name, g.type, g.channel, g.breaker, g.inFlight, g.maxInFlight, g.rate == null ? "∞" : g.rate,
            g.accepted, g.retried, g.rejected, g.lastError ? `${g.lastError} (${g.lastErrorSecondsAgo}s ago)` : ""])));
      },
      async dead(main) {
        const d = await api("dead-letters?limit=200");
        const button = el("button", { text: "Replay all dead letters" });
        button.onclick = async () => { const r = await api("dead-letters/replay", { method: "POST" }); alert(`${r.replayed} job(s) replayed`); show("dead"); };
        main.append(button, table(["job", "channel", "customer", "attempts", "gateway", "reason", "updated"],
          d.jobs.map(j => [j.id, j.channel, j.customer, j.attempts, j.gateway || "", j.reason || "", new Date(j.updatedAt).toISOString()])));
      },
      async trace(main) {
        const form = el("form", {}, el("label", { text: "Transaction id " }), el("input", { id: "tx", size: 30 }), el("button", { text: "Trace" }));
        const out = el("div");
        form.onsubmit = async e => {
          e.preventDefault(); out.textContent = "";
          try {
            const t = await api("transactions/" + encodeURIComponent(document.getElementById("tx").value.trim()));
            for (const j of t.jobs) {
              out.append(el("h3", { text: `${j.job.channel} → ${j.job.address}: ${j.job.status}` }));
              out.append(table(["attempt", "at", "gateway", "outcome", "status", "response", "ms"],
                j.attempts.map(a => [a.number, new Date(a.at).toISOString(), a.gateway, a.outcome, a.status == null ? "" : a.status, a.response || "", Math.round(a.durationMilliseconds)])));
              if (j.reports.length) out.append(table(["report at", "gateway", "status", "detail"], j.reports.map(r => [new Date(r.at).toISOString(), r.gateway, r.status || "", r.detail])));
            }
          } catch (err) { out.append(el("p", { class: "bad", text: err.message })); }
        };
        main.append(form, out);
      },
      async customers(main) {
        const form = el("form", {}, el("label", { text: "Customer id " }), el("input", { id: "cid", size: 12 }), el("button", { text: "Look up" }));
        const out = el("div");
        form.onsubmit = async e => {
          e.preventDefault(); out.textContent = "";
          try {
            const c = await api("customers/" + encodeURIComponent(document.getElementById("cid").value.trim()));
            const name = el("h2"); name.textContent = c.name; name.dir = "auto";
            out.append(name, el("p", { text: `${c.id} · ${c.language} · ${c.timezone} · ${c.active ? "active" : "inactive"}` }));
            out.append(table(["channel", "address", "enabled", "events", "quiet hours"], c.channels.map(ch => [ch.channel, ch.address, ch.enabled ? "yes" : "no", (ch.events || []).join(", "), ch.quietHours || ""])));
          } catch (err) { out.append(el("p", { class: "bad", text: err.message })); }
        };
        main.append(form, out);
      },
      async inbox(main) {
        const inbox = await api("demo/inbox");
        main.append(el("p", { text: `${inbox.received} message(s) received by the demo gateways; the latest first.` }));
        main.append(table(["at", "channel", "to", "text"], inbox.messages.map(m => [new Date(m.at).toISOString(), m.channel, m.to, m.text])));
      },
    };
    function card(label, value) { return el("div", { class: "card" }, el("div", { text: label }), el("div", { class: "v", text: typeof value === "number" ? value.toLocaleString("en") : value })); }
    let current = "overview", timer = null;
    async function show(name) {
      current = name;
      document.querySelectorAll("nav a").forEach(a => a.classList.toggle("active", a.dataset.page === name));
      const main = document.getElementById("page");
      const fresh = el("main", { id: "page" });
      fresh.append(el("h1", { text: pages[name] }));
      try { await render[name](fresh); } catch (err) { fresh.append(el("p", { class: "bad", text: err.message })); }
      main.replaceWith(fresh);
      document.body.dataset.loaded = name;
    }
    window.addEventListener("DOMContentLoaded", () => {
      const nav = document.getElementById("nav");
      for (const [k, v] of Object.entries(pages)) { const a = el("a", { href: "#" + k, text: v }); a.dataset.page = k; nav.append(a); }
      document.getElementById("token-form").onsubmit = e => { e.preventDefault(); sessionStorage.setItem("chapar-token", document.getElementById("token").value); document.getElementById("token-form").hidden = true; show(current); };
      const fromHash = new URLSearchParams(location.hash.slice(1));
      if (fromHash.get("token")) { sessionStorage.setItem("chapar-token", fromHash.get("token")); history.replaceState(null, "", location.pathname); }
      window.addEventListener("hashchange", () => { const p = location.hash.slice(1); if (pages[p]) show(p); });
      if (!token()) showTokenForm();
      show(pages[location.hash.slice(1)] ? location.hash.slice(1) : "overview");
      timer = setInterval(() => { if (["overview", "gateways", "groups", "inbox"].includes(current)) show(current); }, 2000);
    });
    """#
}
