extension ConsoleAssets {
    /// The console's machinery: the token, API calls, routing by URL fragment, refreshing, and
    /// the small DOM, number and chart helpers the pages share. Text from the server is only
    /// ever set with `textContent` (never parsed as HTML).
    ///
    /// Routing: `#page=NAME&k=v…` (e.g. `#page=topic&topic=transactions&partition=0`). A
    /// `token=` in the fragment is moved to session storage and taken out of the address bar.
    /// Once a page has drawn its data, `document.body.dataset.loaded` is the page's name (tests
    /// wait for it), and key figures carry stable ids or `data-*` attributes.
    static let script = ##"""
    "use strict";
    const TOKEN_KEY = "chapar.console.token";
    const NAV = [["overview", "Overview"], ["topics", "Topics"], ["groups", "Groups"], ["gateways", "Channels"],
                 ["deliveries", "Deliveries"], ["dead", "Dead letters"], ["trace", "Trace"], ["customers", "Customers"],
                 ["inbox", "Demo inbox"]];
    const PAGES = {};               // name → { title, nav, refresh (ms), controls(params), load(box, params, state) }
    const COLORS = { sms: "#2f6fd6", im: "#17803d", email: "#8a4fc7", push: "#d9822b", fax: "#6b7280", webhook: "#0f8b8d" };
    const colorOf = (name, i) => COLORS[name] || ["#2f6fd6", "#17803d", "#8a4fc7", "#d9822b", "#b3261e", "#0f8b8d"][i % 6];

    // ---- token and API ----------------------------------------------------------------------
    class NeedToken extends Error {}
    function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }
    async function api(path, options = {}) {
      if (!token()) throw new NeedToken("an API token is needed");
      const headers = Object.assign({ "Authorization": "Bearer " + token() }, options.body ? { "Content-Type": "application/json" } : {});
      let response;
      try { response = await fetch("/v1/" + path, Object.assign({}, options, { headers, cache: "no-store" })); }
      catch (e) { throw new Error("cannot reach chapar serve (" + e.message + ")"); }
      const body = await response.json().catch(() => null);
      if (response.status === 401) { throw new NeedToken((body && body.error && body.error.message) || "the API token was refused"); }
      if (!response.ok) {
        const err = new Error((body && body.error && body.error.message) || (response.status + " " + response.statusText));
        err.status = response.status;
        throw err;
      }
      return body;
    }
    function showTokenPanel(message) {
      document.getElementById("token-panel").hidden = false;
      document.getElementById("token-error").textContent = message || "";
      document.getElementById("page").replaceChildren();
      document.body.dataset.loaded = "token";
      setLive(null);
    }

    // ---- routing ------------------------------------------------------------------------------
    function readRoute() {
      const raw = location.hash.replace(/^#/, "");
      const params = new URLSearchParams(raw.includes("=") ? raw : (raw ? "page=" + raw : ""));
      const given = params.get("token");
      if (given) {
        sessionStorage.setItem(TOKEN_KEY, given);
        params.delete("token");
        // The token leaves the address bar (and so the history, screenshots and shared links).
        history.replaceState(null, "", location.pathname + location.search + (params.toString() ? "#" + params.toString() : ""));
      }
      if (!PAGES[params.get("page")]) params.set("page", "overview");
      return params;
    }
    function link(params, text, attrs = {}) {
      const a = el("a", Object.assign({ href: "#" + new URLSearchParams(params).toString() }, attrs));
      a.textContent = text;
      return a;
    }
    function go(params) {
      const hash = "#" + new URLSearchParams(params).toString();
      if (location.hash === hash) route(); else location.hash = hash;   // the same address fires no hashchange: reload the page
    }

    let generation = 0, timer = null;
    async function route() {
      clearTimeout(timer);
      const params = readRoute();
      const name = params.get("page");
      document.body.dataset.route = location.hash.replace(/^#/, "");   // what the address bar shows (never the token)
      const page = PAGES[name];
      const my = ++generation;
      document.querySelectorAll("#nav a").forEach(a => {
        const here = a.dataset.page === (page.nav || name);
        a.classList.toggle("active", here);
        if (here) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
      });
      document.title = page.title + " · Chapar console";
      delete document.body.dataset.loaded;
      if (!token()) { showTokenPanel(""); return; }
      document.getElementById("token-panel").hidden = true;
      const view = el("section", { class: "view", "data-page": name });
      const titleRow = el("div", { class: "title-row" }, el("h1", { text: page.title }));
      view.append(titleRow);
      if (page.controls) view.append(page.controls(params, titleRow));
      const box = el("div", { class: "data" });
      view.append(box);
      document.getElementById("page").replaceChildren(view);
      const state = {};
      await refresh(name, page, params, box, my, state);
    }
    async function refresh(name, page, params, box, my, state) {
      const fresh = el("div", { class: "data" });
      try {
        await page.load(fresh, params, state);
        if (my !== generation) return;           // the operator went elsewhere meanwhile
        box.replaceWith(fresh);
        box = fresh;
        setLive(true);
        document.body.dataset.loaded = name;
      } catch (err) {
        if (my !== generation) return;
        if (err instanceof NeedToken) { showTokenPanel(err.message); return; }
        console.error(name, err);
        setLive(false, err.message);
        // Keep what was drawn last; say why it is stale.
        const shown = box.querySelector(":scope > .error.refresh");
        const note = el("div", { class: "error refresh", text: err.message });
        if (shown) shown.replaceWith(note); else box.prepend(note);
        if (!box.dataset.drawn) document.body.dataset.loaded = name + ":error";
      }
      box.dataset.drawn = "1";
      if (page.refresh && my === generation) {
        timer = setTimeout(() => { if (my === generation) refresh(name, page, params, box, my, state); }, document.hidden ? page.refresh * 5 : page.refresh);
      }
    }
    function setLive(ok, why) {
      const live = document.getElementById("live");
      live.className = "live" + (ok === true ? " on" : ok === false ? " off" : "");
      live.textContent = ok === true ? "updated " + clock(Date.now()) : ok === false ? "API error" : "signed out";
      live.title = why || "";
    }

    // ---- DOM helpers --------------------------------------------------------------------------
    function el(tag, attrs = {}, ...children) {
      const e = document.createElement(tag);
      for (const [k, v] of Object.entries(attrs)) {
        if (v == null || v === false) continue;
        if (k === "text") e.textContent = v; else e.setAttribute(k, v === true ? "" : v);
      }
      for (const c of children) if (c != null) e.append(c);
      return e;
    }
    /// Text that may be Persian: its own direction, a font with Arabic script.
    function txt(value, tag = "span") { const e = el(tag, { dir: "auto" }); e.textContent = value == null ? "" : String(value); return e; }
    function pill(text, kind) { return el("span", { class: "pill " + (kind || String(text)).replace(/[^a-z_-]/gi, ""), text }); }
    function empty(text) { return el("p", { class: "empty", text }); }
    function num(n) { return n == null || Number.isNaN(n) ? "—" : Number(n).toLocaleString("en-US", { maximumFractionDigits: n < 10 ? 1 : 0 }); }
    function bytes(n) {
      if (n == null) return "—";
      const units = ["B", "KiB", "MiB", "GiB", "TiB"];
      let i = 0, v = n;
      while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
      return (i ? v.toFixed(v < 10 ? 1 : 0) : v) + " " + units[i];
    }
    const pad = n => String(n).padStart(2, "0");
    function clock(ms) { const d = new Date(ms); return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()); }
    function when(ms) {
      if (ms == null) return el("span", { text: "—" });
      const d = new Date(ms), today = new Date().toDateString() === d.toDateString();
      const text = (today ? "" : d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " ") + clock(ms) + (today ? "." + String(d.getMilliseconds()).padStart(3, "0") : "");
      return el("time", { datetime: d.toISOString(), title: d.toISOString(), text });
    }
    function ago(seconds) {
      if (seconds == null) return "";
      if (seconds < 90) return seconds + " s ago";
      if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
      return Math.round(seconds / 3600) + " h ago";
    }
    function duration(seconds) {
      const h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
      return h ? h + " h " + m + " min" : m ? m + " min " + s + " s" : s + " s";
    }
    /// A table: `columns` are [header, value(row) → node|text|number, options]; numbers are right-aligned.
    function table(columns, rows, rowAttrs) {
      if (!rows.length) return empty("nothing to show");
      const t = el("table");
      const head = el("tr");
      for (const [h, , o] of columns) head.append(el("th", { class: o && o.num ? "num" : null, text: h }));
      t.append(el("thead", {}, head));
      const body = el("tbody");
      for (const r of rows) {
        const tr = el("tr", rowAttrs ? rowAttrs(r) : {});
        for (const [, f, o] of columns) {
          const v = f(r);
          const td = el("td", { class: [o && o.num ? "num" : "", o && o.cls || ""].join(" ").trim() || null });
          if (o && o.field) td.dataset.field = o.field;
          if (v instanceof Node) td.append(v);
          else if (typeof v === "number") { td.textContent = num(v); td.dataset.value = v; td.classList.add("num"); }
          else { td.textContent = v == null ? "" : String(v); td.dir = "auto"; }
          tr.append(td);
        }
        body.append(tr);
      }
      t.append(body);
      return t;
    }
    /// A headline figure: `id` and `data-value` (the raw number) let tests read it.
    function card(id, label, value, sub, spark) {
      const v = el("div", { class: "value", id, text: typeof value === "number" ? num(value) : String(value) });
      if (typeof value === "number") v.dataset.value = value;
      return el("div", { class: "card" }, el("div", { class: "label", text: label }), v,
        sub ? el("div", { class: "sub", text: sub }) : null, spark || null);
    }
    function bar(value, max) {
      const b = el("span", { class: "bar" + (max && value / max > .85 ? " hot" : ""), title: value + " / " + max });
      const fill = el("span");
      fill.style.width = Math.min(100, max ? 100 * value / max : 0) + "%";    // CSSOM, allowed by the CSP
      b.append(fill);
      return b;
    }

    // ---- charts -------------------------------------------------------------------------------
    const SVG = "http://www.w3.org/2000/svg";
    function svg(tag, attrs) { const e = document.createElementNS(SVG, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); return e; }
    function niceMax(v) { if (v <= 1) return 1; const p = Math.pow(10, Math.floor(Math.log10(v))); for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p; return 10 * p; }
    /// A line chart of per-second series (oldest first). `series`: [{ name, color, values }].
    function lineChart(series, options = {}) {
      const w = 420, h = options.height || 130, left = 34, right = 8, top = 8, bottom = 18;
      const n = Math.max(2, ...series.map(s => s.values.length));
      const max = niceMax(Math.max(0, ...series.flatMap(s => s.values)));
      const chart = svg("svg", { class: "chart", viewBox: `0 0 ${w} ${h}`, role: "img" });
      chart.setAttribute("aria-label", options.label || "chart");
      const x = i => left + (w - left - right) * i / (n - 1), y = v => top + (h - top - bottom) * (1 - v / max);
      for (const f of [0, .5, 1]) {
        chart.append(svg("line", { class: "grid", x1: left, x2: w - right, y1: y(max * f), y2: y(max * f) }));
        const t = svg("text", { x: left - 4, y: y(max * f) + 3, "text-anchor": "end" }); t.textContent = num(max * f); chart.append(t);
      }
      const span = options.span || (n + " s");
      const t0 = svg("text", { x: left, y: h - 4 }); t0.textContent = "−" + span; chart.append(t0);
      const t1 = svg("text", { x: w - right, y: h - 4, "text-anchor": "end" }); t1.textContent = "now"; chart.append(t1);
      series.forEach((s, k) => {
        const offset = n - s.values.length;
        const points = s.values.map((v, i) => x(i + offset).toFixed(1) + "," + y(v).toFixed(1)).join(" ");
        if (series.length === 1 && s.values.length > 1) {
          chart.append(svg("polygon", { points: `${x(offset)},${y(0)} ${points} ${x(n - 1)},${y(0)}`, fill: s.color || colorOf(s.name, k), "fill-opacity": ".12" }));
        }
        const line = svg("polyline", { points, fill: "none", stroke: s.color || colorOf(s.name, k), "stroke-width": "1.6", "vector-effect": "non-scaling-stroke" });
        line.dataset.series = s.name;
        chart.append(line);
      });
      const legend = el("div", { class: "legend" });
      series.forEach((s, k) => {
        const swatch = el("i"); swatch.style.background = s.color || colorOf(s.name, k);
        legend.append(el("span", {}, swatch, s.name + (s.values.length ? ": " + num(s.values[s.values.length - 1]) + (options.unit || "") : "")));
      });
      return el("div", { class: "chart-box" }, chart, legend);
    }
    function sparkline(values, color) {
      const w = 120, h = 28, n = Math.max(2, values.length), max = Math.max(1, ...values);
      const s = svg("svg", { viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "none", "aria-hidden": "true" });
      s.append(svg("polyline", { points: values.map((v, i) => (w * i / (n - 1)).toFixed(1) + "," + (h - 2 - (h - 4) * v / max).toFixed(1)).join(" "),
        fill: "none", stroke: color || "#2f6fd6", "stroke-width": "1.5", "vector-effect": "non-scaling-stroke" }));
      return s;
    }

    // ---- JSON, pretty and safe ------------------------------------------------------------------
    /// Pretty-prints a record value: JSON (keys, strings, numbers coloured; Persian strings
    /// isolated so they read right to left inside a left-to-right listing), or the raw text.
    const ARABIC = /[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]/;
    function jsonView(text) {
      const pre = el("pre", { class: "json" });
      let value;
      try { value = JSON.parse(text); } catch { pre.append(txt(text)); return pre; }
      const put = (v, indent) => {
        if (v === null || typeof v === "boolean") pre.append(el("span", { class: "json-literal", text: String(v) }));
        else if (typeof v === "number") pre.append(el("span", { class: "json-number", text: String(v) }));
        else if (typeof v === "string") { const s = el("span", { class: "json-string" + (ARABIC.test(v) ? " fa" : ""), dir: "auto" }); s.textContent = JSON.stringify(v).slice(1, -1); pre.append("\"", s, "\""); }
        else if (Array.isArray(v)) {
          if (!v.length) { pre.append("[]"); return; }
          pre.append("[\n");
          v.forEach((item, i) => { pre.append(indent + "  "); put(item, indent + "  "); pre.append(i < v.length - 1 ? ",\n" : "\n"); });
          pre.append(indent + "]");
        } else {
          const keys = Object.keys(v);
          if (!keys.length) { pre.append("{}"); return; }
          pre.append("{\n");
          keys.forEach((k, i) => {
            pre.append(indent + "  ", el("span", { class: "json-key", text: JSON.stringify(k) }), ": ");
            put(v[k], indent + "  ");
            pre.append(i < keys.length - 1 ? ",\n" : "\n");
          });
          pre.append(indent + "}");
        }
      };
      put(value, "");
      return pre;
    }

    // ---- start --------------------------------------------------------------------------------
    window.addEventListener("DOMContentLoaded", () => {
      const nav = document.getElementById("nav");
      for (const [name, label] of NAV) { const a = link({ page: name }, label); a.dataset.page = name; nav.append(a); }
      document.getElementById("token-form").addEventListener("submit", e => {
        e.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
        document.getElementById("token").value = "";
        route();
      });
      document.getElementById("forget").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); route(); });
      window.addEventListener("hashchange", route);
      route();
    });

    """##
}
