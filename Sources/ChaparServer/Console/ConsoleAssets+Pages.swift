extension ConsoleAssets {
    /// One renderer per page, registered in `PAGES` (see `script` for the machinery). Each
    /// `load` draws into a fresh box that replaces the old one only once it is complete, so a
    /// refresh never shows a half-drawn page.
    static let pages = ##"""
    // ---- overview -----------------------------------------------------------------------------
    const sumValues = o => Object.values(o || {}).reduce((a, b) => a + b, 0);
    const mean = (xs, f) => xs.length ? xs.reduce((a, s) => a + f(s), 0) / xs.length : 0;
    PAGES.overview = {
      title: "Overview", refresh: 2000,
      async load(box, params, state) {
        const o = await api("overview");
        const h = o.history || [], last = h.slice(-10);
        const channels = o.channels.map(c => c.channel);
        // Lag and backlogs are not in the server's history: keep them while the page is open.
        state.lag = (state.lag || []).concat([o.notifier.lag]).slice(-150);
        state.backlog = state.backlog || {};
        for (const c of o.channels) state.backlog[c.channel] = (state.backlog[c.channel] || []).concat([c.backlog]).slice(-150);
        const inRate = mean(last, s => s.eventsIn), outRate = mean(last, s => sumValues(s.delivered)), failRate = mean(last, s => s.failed);
        const failed5 = h.reduce((a, s) => a + s.failed, 0);
        const recent = h.slice(-60);
        box.append(el("div", { class: "cards" },
          card("ov-events", "events on the log", o.events, "transactions and messages", sparkline(recent.map(s => s.eventsIn), "#17294a")),
          card("ov-events-rate", "events/s in", Math.round(inRate * 10) / 10, "mean of the last 10 s", sparkline(recent.map(s => s.eventsIn), "#2f6fd6")),
          card("ov-deliveries-rate", "deliveries/s out", Math.round(outRate * 10) / 10, "accepted by a gateway, all channels", sparkline(recent.map(s => sumValues(s.delivered)), "#17803d")),
          card("ov-failed-rate", "failed attempts/s", Math.round(failRate * 10) / 10, num(failed5) + " in the last 5 min", sparkline(recent.map(s => s.failed), "#b3261e")),
          card("ov-notifier-lag", "notifier lag", o.notifier.lag, "events not yet turned into jobs", sparkline(state.lag, "#d9822b")),
          card("ov-jobs", "jobs made", sumValues(o.notifier.jobs), num(o.notifier.events) + " events read by the notifier"),
          card("ov-uptime", "uptime", duration(o.uptimeSeconds), "phase: " + o.phase + (o.demo ? " · demo" : ""))));
        box.querySelector("#ov-uptime").dataset.value = o.uptimeSeconds;

        const charts = el("div", { class: "grid2" });
        charts.append(el("div", { class: "panel" }, el("h3", { text: "Events in per second" }),
          lineChart([{ name: "events", color: "#17294a", values: h.map(s => s.eventsIn) }], { label: "events in per second" })));
        charts.append(el("div", { class: "panel" }, el("h3", { text: "Deliveries out per second, by channel" }),
          lineChart(channels.filter(c => h.some(s => s.delivered[c])).map((c, i) => ({ name: c, values: h.map(s => s.delivered[c] || 0) })), { label: "deliveries per second" })));
        charts.append(el("div", { class: "panel" }, el("h3", { text: "Failed attempts per second" }),
          lineChart([{ name: "failed", color: "#b3261e", values: h.map(s => s.failed) }], { label: "failed attempts per second" })));
        charts.append(el("div", { class: "panel" }, el("h3", { text: "Backlog per channel and notifier lag (since this page opened)" }),
          lineChart(channels.map(c => ({ name: c, values: state.backlog[c] })).concat([{ name: "notifier lag", color: "#d9822b", values: state.lag }]),
            { label: "backlog", span: duration(state.lag.length * 2) })));
        box.append(charts);

        box.append(el("h2", { text: "Channels" }));
        const perChannel = c => mean(last, s => s.delivered[c] || 0);
        const st = (c, k) => c.statistics ? c.statistics[k] : null;
        const lat = (c, k) => c.latencyMilliseconds ? c.latencyMilliseconds[k] : null;
        box.append(table([
          ["channel", c => link({ page: "gateways" }, c.channel)],
          ["state", c => c.delivering ? pill("delivering", "ok") : pill("no gateway", "warn")],
          ["out/s", c => Math.round(perChannel(c.channel) * 10) / 10, { num: true, field: "rate" }],
          ["sent", c => st(c, "accepted"), { num: true, field: "sent" }],
          ["retries", c => st(c, "retries"), { num: true, field: "retries" }],
          ["dead", c => st(c, "dead"), { num: true, field: "dead" }],
          ["expired", c => st(c, "expired"), { num: true, field: "expired" }],
          ["in flight", c => st(c, "inFlight"), { num: true, field: "inFlight" }],
          ["backlog", c => c.backlog, { num: true, field: "backlog" }],
          ["p50 ms", c => lat(c, "p50"), { num: true, field: "p50" }],
          ["p90 ms", c => lat(c, "p90"), { num: true, field: "p90" }],
          ["p99 ms", c => lat(c, "p99"), { num: true, field: "p99" }],
          ["max ms", c => lat(c, "max"), { num: true, field: "max" }],
          ["samples", c => lat(c, "samples"), { num: true }],
        ], o.channels, c => ({ "data-channel": c.channel })));
        box.append(el("p", { class: "muted", text: "Latency: job created → gateway accepted, over the last few thousand accepted jobs. Backlog: jobs waiting on the channel's topics." }));

        const side = el("div", { class: "grid2" });
        const statuses = ["scheduled", "retrying", "sent", "delivered", "failed", "dead", "expired"];
        const ledgerRows = Object.keys(o.ledger).sort().map(c => [c, o.ledger[c]]);
        side.append(el("div", { class: "panel" }, el("h3", { text: "Delivery ledger (jobs by status)" }),
          table([["channel", r => r[0]]].concat(statuses.map(s => [s, r => r[1][s] ? link({ page: s === "dead" ? "dead" : "deliveries", status: s, channel: r[0] }, num(r[1][s])) : "", { num: true }])),
            ledgerRows)));
        const skipped = Object.entries(o.notifier.skipped).sort();
        side.append(el("div", { class: "panel", id: "ov-notifier" }, el("h3", { text: "Notifier" }),
          el("dl", { class: "facts" },
            el("dt", { text: "events read" }), el("dd", { text: num(o.notifier.events) }),
            el("dt", { text: "jobs made" }), el("dd", { text: Object.entries(o.notifier.jobs).sort().map(([c, n]) => c + " " + num(n)).join(" · ") || "none" }),
            el("dt", { text: "skipped" }), el("dd", { text: skipped.map(([r, n]) => r + " " + num(n)).join(" · ") || "none" }),
            el("dt", { text: "invalid records" }), el("dd", { class: o.notifier.invalidRecords ? "bad" : null, text: num(o.notifier.invalidRecords) }),
            el("dt", { text: "failed batches" }), el("dd", { class: o.notifier.failedBatches ? "bad" : null, text: num(o.notifier.failedBatches) }),
            el("dt", { text: "lag" }), el("dd", { text: num(o.notifier.lag) }))));
        box.append(side);
      },
    };

    // ---- topics -------------------------------------------------------------------------------
    const partitionRecords = p => p.endOffset - p.startOffset;
    function settings(configuration) {
      const s = el("div", { class: "settings" });
      const fmt = (k, v) => {
        if (typeof v !== "number") return typeof v === "object" ? JSON.stringify(v) : String(v);
        if (/Bytes$/.test(k)) return bytes(v);
        if (/Ms$/.test(k)) return v % 86400000 === 0 ? v / 86400000 + " d" : v % 3600000 === 0 ? v / 3600000 + " h" : num(v) + " ms";
        return num(v);
      };
      for (const [k, v] of Object.entries(configuration || {})) {
        if (k === "partitions") continue;
        s.append(el("span", { "data-setting": k, text: k.replace(/Ms$|Bytes$/, "") + ": " + fmt(k, v) }));
      }
      return s;
    }
    PAGES.topics = {
      title: "Topics", refresh: 5000,
      async load(box) {
        const topics = await api("topics");
        box.append(table([
          ["topic", t => link({ page: "topic", topic: t.name }, t.name)],
          ["partitions", t => t.partitions.length, { num: true, field: "partitions" }],
          ["records", t => t.partitions.reduce((a, p) => a + partitionRecords(p), 0), { num: true, field: "records" }],
          ["start offsets", t => t.partitions.reduce((a, p) => a + p.startOffset, 0), { num: true }],
          ["end offsets", t => t.partitions.reduce((a, p) => a + p.endOffset, 0), { num: true, field: "end" }],
          ["size", t => bytes(t.partitions.reduce((a, p) => a + p.bytes, 0)), { num: true }],
          ["segments", t => t.partitions.reduce((a, p) => a + (p.segments || 0), 0), { num: true }],
          ["settings", t => settings(t.configuration)],
        ], topics, t => ({ "data-topic": t.name })));
        box.append(el("p", { class: "muted", text: "Start and end offsets are summed over the partitions; records = end − start (what retention has kept)." }));
      },
    };

    /// A record as the browser shows it: where it is, when, key, headers, and its value.
    function recordView(r, withPartition) {
      const meta = el("div", { class: "meta" });
      if (withPartition) meta.append(el("span", {}, "partition ", el("b", { text: String(r.partition) })));
      meta.append(el("span", {}, "offset ", el("b", { text: num(r.offset) })), el("span", {}, when(r.timestamp)));
      if (r.key != null) meta.append(el("span", {}, "key ", el("b", { class: "mono", text: r.key })));
      for (const [k, v] of Object.entries(r.headers || {})) meta.append(el("span", { class: "mono" }, k + " = ", txt(v, "b")));
      return el("article", { class: "record", "data-partition": r.partition, "data-offset": r.offset }, meta, jsonView(r.value));
    }
    /// The first offset of partition `p` whose record was appended at or after `target` (ms):
    /// a binary search over offsets, one single-record fetch per step (append times only grow).
    async function offsetAt(name, info, target) {
      let lo = info.startOffset, hi = info.endOffset;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        const page = await api("topics/" + encodeURIComponent(name) + "/records?partition=" + info.partition + "&offset=" + mid + "&limit=1");
        const r = page.records[0];
        if (!r) { hi = mid; continue; }
        if (r.timestamp < target) lo = r.offset + 1; else hi = Math.min(mid, r.offset);
      }
      return lo;
    }
    const KEY_SCAN = 500;
    PAGES.topic = {
      title: "Topic", nav: "topics",
      controls(params, titleRow) {
        titleRow.querySelector("h1").textContent = "Topic " + (params.get("topic") || "");
        titleRow.append(link({ page: "topics" }, "← all topics"));
        const topic = params.get("topic");
        const form = el("form", { class: "controls", id: "browse" });
        const partition = el("select", { id: "partition" });
        const offset = el("input", { id: "offset", type: "number", min: "0", placeholder: "latest", value: params.get("offset") || "" });
        const at = el("input", { id: "at", type: "datetime-local", step: "1" });
        const given = Date.parse(params.get("at") || "");
        if (!Number.isNaN(given)) { const d = new Date(given); at.value = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${clock(given)}`; }
        const limit = el("select", { id: "limit" }, ...[10, 20, 50, 100].map(n => el("option", { value: n, text: n })));
        limit.value = params.get("limit") || "20";
        const key = el("input", { id: "key", size: 28, placeholder: "e.g. an account or customer id", value: params.get("key") || "", spellcheck: "false" });
        const find = el("button", { type: "button", class: "secondary", text: "Find key" });
        form.append(el("label", { text: "partition" }, partition), el("label", { text: "from offset" }, offset), el("label", { text: "or from time" }, at),
          el("label", { text: "records" }, limit), el("button", { type: "submit", text: "Show" }), el("label", { text: "key (newest " + KEY_SCAN + " of each partition)" }, key), find);
        form.addEventListener("submit", e => {
          e.preventDefault();
          const where = { page: "topic", topic, partition: partition.value, limit: limit.value };
          if (offset.value) where.offset = offset.value; else if (at.value) where.at = at.value;
          go(where);
        });
        find.addEventListener("click", () => { if (key.value.trim()) go({ page: "topic", topic, key: key.value.trim() }); });
        return form;
      },
      async load(box, params) {
        const name = params.get("topic");
        const topics = await api("topics");
        const t = topics.find(x => x.name === name);
        if (!t) throw new Error("no topic " + name);
        const p = Math.max(0, Math.min(Number(params.get("partition") || 0), t.partitions.length - 1));
        const select = document.getElementById("partition");
        if (select && !select.options.length) {
          for (const x of t.partitions) select.append(el("option", { value: x.partition, text: x.partition + " (" + num(partitionRecords(x)) + ")" }));
        }
        if (select) select.value = p;
        box.append(el("div", { class: "panel" }, el("h3", { text: "Settings" }), settings(t.configuration)));
        box.append(el("h2", { text: "Partitions" }));
        box.append(table([
          ["partition", x => link({ page: "topic", topic: name, partition: x.partition }, String(x.partition))],
          ["start offset", x => x.startOffset, { num: true, field: "start" }],
          ["end offset", x => x.endOffset, { num: true, field: "end" }],
          ["records", x => partitionRecords(x), { num: true }],
          ["size", x => bytes(x.bytes), { num: true }],
          ["segments", x => x.segments, { num: true }],
        ], t.partitions, x => ({ "data-partition": x.partition })));

        const key = params.get("key");
        if (key) {
          // Keys are hashed to partitions by the log; look at the newest records of each.
          const pages = await Promise.all(t.partitions.filter(x => x.endOffset > x.startOffset).map(x =>
            api("topics/" + encodeURIComponent(name) + "/records?partition=" + x.partition + "&limit=" + KEY_SCAN)));
          const found = pages.flatMap(pg => pg.records).filter(r => r.key === key).sort((a, b) => b.timestamp - a.timestamp).slice(0, 100);
          box.append(el("h2", { text: `Records with key ${key}: ${found.length}${found.length === 100 ? " (the newest 100)" : ""} among the newest ${KEY_SCAN} of each partition` }));
          const list = el("div", { class: "records", id: "records", "data-topic": name, "data-key": key, "data-count": found.length });
          if (!found.length) list.append(empty("none (older records are reached by offset or time)"));
          for (const r of found) list.append(recordView(r, true));
          box.append(list);
          return;
        }
        const limit = Number(params.get("limit") || 20);
        let offset = params.get("offset");
        let note = null;
        if (!offset && params.get("at")) {
          const target = Date.parse(params.get("at"));
          if (Number.isNaN(target)) throw new Error("'" + params.get("at") + "' is not a time");
          offset = String(await offsetAt(name, t.partitions[p], target));
          note = el("p", { class: "notice", id: "time-found", "data-offset": offset,
            text: `The first record of partition ${p} appended at or after ${new Date(target).toISOString()} is at offset ${num(Number(offset))}.` });
        }
        const query = "partition=" + p + "&limit=" + limit + (offset ? "&offset=" + encodeURIComponent(offset) : "");
        const page = await api("topics/" + encodeURIComponent(name) + "/records?" + query);
        const first = page.records.length ? page.records[0].offset : page.endOffset, lastOffset = page.records.length ? page.records[page.records.length - 1].offset : page.endOffset - 1;
        const nav = el("div", { class: "title-row" }, el("h2", { text: `Records of partition ${p}: offsets ${num(page.startOffset)} … ${num(page.endOffset - 1)}` }));
        const to = o => ({ page: "topic", topic: name, partition: p, limit, offset: o });
        nav.append(link(to(page.startOffset), "« oldest"), link(to(Math.max(page.startOffset, first - limit)), "◀ older"),
          link(to(lastOffset + 1), "newer ▶"), link({ page: "topic", topic: name, partition: p, limit }, "latest »"));
        box.append(nav);
        if (note) box.append(note);
        const list = el("div", { class: "records", id: "records", "data-topic": name, "data-partition": p, "data-count": page.records.length });
        if (!page.records.length) list.append(empty("no records in this range (the partition holds offsets " + page.startOffset + " to " + (page.endOffset - 1) + ")"));
        for (const r of page.records) list.append(recordView(r, false));
        box.append(list);
      },
    };

    // ---- consumer groups ----------------------------------------------------------------------
    const memberName = m => m == null ? "" : typeof m === "string" ? m : (m.rawValue || JSON.stringify(m));
    PAGES.groups = {
      title: "Consumer groups", refresh: 2000,
      async load(box) {
        const groups = await api("groups");
        if (!groups.length) box.append(empty("no consumer groups yet"));
        box.append(table([
          ["group", g => el("b", { text: g.group })],
          ["members", g => g.members.length, { num: true }],
          ["generation", g => g.generation, { num: true }],
          ["partitions", g => g.partitions.length, { num: true }],
          ["lag", g => g.partitions.reduce((a, p) => a + p.lag, 0), { num: true, field: "lag" }],
        ], groups, g => ({ "data-group": g.group })));
        for (const g of groups) {
          const lag = g.partitions.reduce((a, p) => a + p.lag, 0);
          const section = el("section", { class: "panel", "data-group": g.group, "data-lag": lag });
          section.append(el("div", { class: "title-row" }, el("h3", { text: g.group }), pill(lag ? "lag " + num(lag) : "caught up", lag ? "warn" : "ok"),
            el("span", { class: "muted", text: "generation " + g.generation + " · members: " + (g.members.map(memberName).join(", ") || "none") })));
          const maxEnd = Math.max(1, ...g.partitions.map(p => p.end));
          section.append(table([
            ["topic", p => link({ page: "topic", topic: p.topic, partition: p.partition }, p.topic)],
            ["partition", p => p.partition, { num: true }],
            ["committed", p => p.committed == null ? "—" : p.committed, { num: true, field: "committed" }],
            ["end", p => p.end, { num: true, field: "end" }],
            ["lag", p => el("span", {}, num(p.lag), bar(p.lag, Math.max(p.lag, maxEnd / 10))), { num: true, field: "lag" }],
            ["owner", p => memberName(p.owner)],
          ], g.partitions, p => ({ "data-topic": p.topic, "data-partition": p.partition })));
          box.append(section, el("div", { class: "spacer" }));
        }
        box.append(el("p", { class: "muted", text: "Rewinding a group (replay) or skipping ahead is not done from this page: stop the server and use chapar log reset-offsets." }));
      },
    };

    // ---- channels and gateways ----------------------------------------------------------------
    PAGES.gateways = {
      title: "Channels & gateways", refresh: 2000,
      async load(box, params, state) {
        const [gateways, o] = await Promise.all([api("gateways"), api("overview")]);
        // Observed rate: accepted since the previous refresh.
        const now = Date.now(), before = state.previous;
        state.previous = { at: now, accepted: Object.fromEntries(gateways.map(g => [g.name, g.accepted])) };
        const observed = g => before && before.accepted[g.name] != null ? (g.accepted - before.accepted[g.name]) * 1000 / (now - before.at) : null;
        for (const c of o.channels) {
          const mine = gateways.filter(g => g.channel === c.channel);
          const section = el("section", { class: "panel", "data-channel": c.channel });
          const s = c.statistics || {};
          const outRate = mean((o.history || []).slice(-10), x => x.delivered[c.channel] || 0);
          section.append(el("div", { class: "title-row" }, el("h3", { text: c.channel }), c.delivering ? pill("delivering", "ok") : pill("no gateway configured", "warn"),
            el("span", { class: "muted", text: (c.delivering ? num(Math.round(outRate * 10) / 10) + "/s out (10 s) · " : "") + "backlog " + num(c.backlog) + (c.statistics ? " · sent " + num(s.accepted) + " · retries " + num(s.retries) + " · dead " + num(s.dead) +
              " · in flight " + num(s.inFlight) : "") + (c.latencyMilliseconds ? " · p50/p90/p99 " + c.latencyMilliseconds.p50 + "/" + c.latencyMilliseconds.p90 + "/" + c.latencyMilliseconds.p99 + " ms" : "") })));
          if (mine.length) section.append(table([
            ["gateway", g => el("b", { text: g.name })],
            ["type", g => g.type],
            ["breaker", g => pill(g.breaker), { field: "breaker" }],
            ["in flight / max", g => el("span", {}, num(g.inFlight) + " / " + num(g.maxInFlight), bar(g.inFlight, g.maxInFlight)), { num: true, field: "inFlight" }],
            ["rate limit/s", g => g.rate == null ? "none" : g.rate, { num: true, field: "rate" }],
            ["tokens", g => g.tokens == null ? "—" : Math.floor(g.tokens), { num: true }],
            ["accepted/s now", g => observed(g) == null ? "…" : Math.round(observed(g) * 10) / 10, { num: true, field: "observed" }],
            ["accepted", g => g.accepted, { num: true, field: "accepted" }],
            ["retried", g => g.retried, { num: true, field: "retried" }],
            ["rejected", g => g.rejected, { num: true, field: "rejected" }],
            ["last error", g => g.lastError ? el("span", { class: "bad" }, txt(g.lastError), el("span", { class: "muted", text: " (" + ago(g.lastErrorSecondsAgo) + ")" })) : el("span", { class: "muted", text: "none" }), { cls: "wrap" }],
          ], mine, g => ({ "data-gateway": g.name })));
          else section.append(empty("jobs for " + c.channel + " wait on their topics until a gateway is configured"));
          box.append(section, el("div", { class: "spacer" }));
        }
      },
    };

    // ---- deliveries and dead letters ----------------------------------------------------------
    const STATUSES = ["scheduled", "retrying", "sent", "delivered", "failed", "dead", "expired"];
    const CHANNELS = ["sms", "email", "im", "fax"];
    function jobColumns(extra) {
      return [
        ["updated", j => when(j.updatedAt)],
        ["job", j => el("span", { class: "mono", title: j.id, text: j.id.slice(0, 12) + "…" })],
        ["transaction", j => link({ page: "trace", tx: j.event }, j.event)],
        ["customer", j => link({ page: "customers", id: j.customer }, j.customer)],
        ["channel", j => j.channel],
        ["priority", j => j.priority],
        ["status", j => pill(j.status), { field: "status" }],
        ["attempts", j => j.attempts, { num: true }],
        ["gateway", j => j.gateway || ""],
        ["to", j => el("span", { class: "mono", text: j.address })],
      ].concat(extra);
    }
    function filterForm(params, page, withStatus) {
      const form = el("form", { class: "controls" });
      const status = el("select", { id: "status" }, el("option", { value: "", text: "any" }), ...STATUSES.map(s => el("option", { value: s, text: s })));
      const channel = el("select", { id: "channel" }, el("option", { value: "", text: "any" }), ...CHANNELS.map(s => el("option", { value: s, text: s })));
      const limit = el("select", { id: "limit" }, ...[50, 100, 200, 500].map(n => el("option", { value: n, text: n })));
      status.value = params.get("status") || ""; channel.value = params.get("channel") || ""; limit.value = params.get("limit") || "100";
      if (withStatus) form.append(el("label", { text: "status" }, status));
      form.append(el("label", { text: "channel" }, channel), el("label", { text: "show" }, limit));
      const apply = () => go(Object.fromEntries(Object.entries({ page, status: withStatus ? status.value : "", channel: channel.value, limit: limit.value }).filter(([, v]) => v)));
      for (const s of [status, channel, limit]) s.addEventListener("change", apply);
      form.addEventListener("submit", e => { e.preventDefault(); apply(); });
      return form;
    }
    function query(params, keys) {
      const q = new URLSearchParams();
      for (const k of keys) if (params.get(k)) q.set(k, params.get(k));
      return q.toString();
    }
    function countsTable(counts, page) {
      const rows = Object.keys(counts).sort();
      return table([["channel", c => c]].concat(STATUSES.map(s => [s, c => counts[c][s] ? link({ page: s === "dead" ? "dead" : page, status: s, channel: c }, num(counts[c][s])) : "", { num: true }]))
        .concat([["total", c => sumValues(counts[c]), { num: true }]]), rows, c => ({ "data-channel": c }));
    }
    PAGES.deliveries = {
      title: "Deliveries", refresh: 2000,
      controls: params => filterForm(params, "deliveries", true),
      async load(box, params) {
        const listing = await api("deliveries?" + query(params, ["status", "channel", "limit", "customer"]));
        box.append(el("div", { class: "panel" }, el("h3", { text: "Jobs in the ledger by channel and status" }), countsTable(listing.counts, "deliveries")));
        box.append(el("h2", { text: `Most recent ${listing.jobs.length} job(s)` + (params.get("status") ? " " + params.get("status") : "") + (params.get("channel") ? " on " + params.get("channel") : "") }));
        const t = table(jobColumns([["last answer", j => txt(j.reason || j.lastResponse || ""), { cls: "wrap" }]]), listing.jobs, j => ({ "data-job": j.id }));
        t.id = "deliveries";
        box.append(t);
      },
    };
    PAGES.dead = {
      title: "Dead letters", refresh: 5000,
      controls: params => filterForm(params, "dead", false),
      async load(box, params) {
        const listing = await api("dead-letters?" + query(params, ["channel", "limit"]));
        const dead = Object.entries(listing.counts).map(([c, s]) => [c, s.dead || 0]).filter(([, n]) => n > 0).sort();
        const total = dead.reduce((a, [, n]) => a + n, 0);
        const actions = el("div", { class: "panel", id: "replay" }, el("h3", { text: "Replay" }),
          el("p", { class: "muted", text: "Replaying moves dead jobs back into the schedule with a fresh retry budget; the running pools send them again under the same job id (gateways see the same idempotency key)." }));
        const buttons = el("div", { class: "settings" });
        const replay = async (channel, n) => {
          if (!confirm(`Replay ${n} dead ${channel || "letters on every channel"}${channel ? " job(s)" : ""}?`)) return;
          try {
            const r = await api("dead-letters/replay", { method: "POST", body: JSON.stringify(channel ? { channel } : {}) });
            sessionStorage.setItem("chapar.console.notice", `${r.replayed} job(s) replayed` + (channel ? " on " + channel : ""));
          } catch (err) { sessionStorage.setItem("chapar.console.notice", "replay failed: " + err.message); }
          route();
        };
        for (const [c, n] of dead) { const b = el("button", { type: "button", "data-replay": c, text: `Replay ${num(n)} on ${c}` }); b.addEventListener("click", () => replay(c, n)); buttons.append(b); }
        const all = el("button", { type: "button", class: "danger", "data-replay": "all", text: `Replay all ${num(total)}` });
        all.disabled = total === 0; all.addEventListener("click", () => replay(null, total));
        buttons.append(all);
        actions.append(buttons);
        const notice = sessionStorage.getItem("chapar.console.notice");
        if (notice) { sessionStorage.removeItem("chapar.console.notice"); box.append(el("div", { class: "notice", text: notice })); }
        box.append(el("div", { class: "cards" }, card("dead-total", "dead letters", total, dead.map(([c, n]) => c + " " + num(n)).join(" · ") || "none")), actions);
        box.append(el("h2", { text: "Dead jobs" + (params.get("channel") ? " on " + params.get("channel") : "") }));
        const t = table(jobColumns([["reason", j => txt(j.reason || j.lastResponse || ""), { cls: "wrap bad" }]]), listing.jobs, j => ({ "data-job": j.id }));
        t.id = "dead-letters";
        box.append(listing.jobs.length ? t : empty("no dead letters — every job was sent or is still being tried"));
      },
    };

    // ---- transaction trace --------------------------------------------------------------------
    /// The event itself, from the newest records of each partition of `transactions` and
    /// `messages` (events are keyed by account, so any partition may hold it).
    async function findEvent(id) {
      const topics = (await api("topics")).filter(t => t.name === "transactions" || t.name === "messages" || t.name === "messages.urgent");
      const searches = topics.flatMap(t => t.partitions.filter(p => p.endOffset > p.startOffset).map(p =>
        api("topics/" + encodeURIComponent(t.name) + "/records?partition=" + p.partition + "&limit=500").then(page => page.records.map(r => Object.assign(r, { topic: t.name })))));
      const pages = await Promise.all(searches);
      for (const records of pages) for (const r of records) if (r.headers && r.headers["chapar.id"] === id) return r;
      return null;
    }
    PAGES.trace = {
      title: "Transaction trace",
      controls(params) {
        const form = el("form", { class: "controls" });
        const input = el("input", { id: "tx", size: 34, placeholder: "e.g. FT1796305016-73", value: params.get("tx") || "", spellcheck: "false" });
        form.append(el("label", { text: "transaction or message id" }, input), el("button", { type: "submit", text: "Trace" }));
        form.addEventListener("submit", e => { e.preventDefault(); if (input.value.trim()) go({ page: "trace", tx: input.value.trim() }); });
        return form;
      },
      async load(box, params) {
        const id = params.get("tx");
        if (!id) {
          const recent = await api("deliveries?limit=60");
          const seen = [...new Map(recent.jobs.map(j => [j.event, j])).values()].slice(0, 15);
          box.append(el("p", { class: "muted", text: "Every job a transaction produced, every delivery attempt with the gateway's answer, and the delivery reports — on one page." }));
          box.append(el("h2", { text: "Recent transactions" }));
          box.append(table([["transaction", j => link({ page: "trace", tx: j.event }, j.event)], ["customer", j => j.customer], ["last update", j => when(j.updatedAt)]], seen));
          return;
        }
        let trace = null, missing = null;
        try { trace = await api("transactions/" + encodeURIComponent(id)); } catch (err) { if (err.status === 404 || err.status === 400) missing = err.message; else throw err; }
        const [event, o] = await Promise.all([findEvent(id).catch(() => null), api("overview")]);
        const summary = el("div", { class: "title-row", id: "trace-summary", "data-transaction": id });
        summary.append(el("h2", { class: "mono", text: id }));
        if (trace) for (const [s, n] of Object.entries(trace.summary)) summary.append(pill(n + " " + s, s));
        box.append(summary);

        const ev = el("section", { class: "panel", id: "trace-event" }, el("h3", { text: "The event on the log" }));
        if (event) {
          ev.dataset.topic = event.topic; ev.dataset.partition = event.partition; ev.dataset.offset = event.offset;
          ev.append(el("p", { class: "muted" }, link({ page: "topic", topic: event.topic, partition: event.partition, offset: event.offset, limit: 10 }, `${event.topic} / partition ${event.partition} / offset ${event.offset}`),
            " · appended ", when(event.timestamp), " · key ", el("span", { class: "mono", text: event.key || "" })), jsonView(event.value));
        } else ev.append(empty("not among the newest 500 records of each partition of transactions and messages (older, or never ingested)"));
        const jobs = el("div", { class: "jobs", id: "trace-jobs" }, el("h3", { text: "Jobs, attempts and delivery reports" }));
        if (missing) jobs.append(el("div", { class: "error", text: missing }));
        box.append(el("div", { class: "grid2 trace" }, jobs, ev));
        for (const t of (trace ? trace.jobs : [])) {
          const j = t.job;
          const article = el("article", { class: "job", "data-job": j.id, "data-channel": j.channel, "data-status": j.status });
          article.append(el("header", {}, el("h3", { text: j.channel }), pill(j.status), el("span", { class: "mono muted", text: "job " + j.id })));
          article.append(el("dl", { class: "facts" },
            el("dt", { text: "customer" }), el("dd", {}, link({ page: "customers", id: j.customer }, j.customer)),
            el("dt", { text: "to" }), el("dd", { class: "mono", text: j.address }),
            el("dt", { text: "priority" }), el("dd", { text: j.priority }),
            el("dt", { text: "gateway" }), el("dd", { text: (j.gateway || "—") + (j.gatewayReference ? " · reference " + j.gatewayReference : "") }),
            el("dt", { text: "attempts" }), el("dd", { text: String(j.attempts) + (j.dueAt ? " · next due " + new Date(j.dueAt).toISOString() : "") })));
          const steps = [{ at: j.createdAt, cls: "", head: "job created by the notifier" }];
          for (const a of t.attempts) steps.push({ at: a.at, cls: a.outcome === "accepted" ? "step-ok" : a.outcome === "retry" ? "step-warn" : "step-bad",
            head: `attempt ${a.number} → ${a.gateway}: ${a.outcome}` + (a.status != null ? " (" + a.status + ")" : "") + " in " + num(a.durationMilliseconds) + " ms", said: a.response });
          for (const r of t.reports) steps.push({ at: r.at, cls: r.status === "delivered" ? "step-ok" : r.status === "failed" ? "step-bad" : "", head: `delivery report from ${r.gateway}: ${r.status || "intermediate"}`, said: r.detail });
          if (j.reason) steps.push({ at: j.updatedAt, cls: "step-bad", head: "gave up: " + j.status, said: j.reason });
          steps.sort((a, b) => a.at - b.at);
          const ol = el("ol", { class: "timeline" });
          for (const s of steps) ol.append(el("li", { class: s.cls || null }, el("span", { class: "when" }, when(s.at)), el("span", { text: s.head }), s.said ? txt(s.said, "span") : null));
          ol.querySelectorAll("li > span[dir=auto]").forEach(e => e.classList.add("said"));
          article.append(ol);
          jobs.append(article);
        }
        const waiting = o.channels.filter(c => !c.delivering).map(c => c.channel);
        if (waiting.length) jobs.append(el("p", { class: "muted", text: "Jobs on channels with no gateway (" + waiting.join(", ") + ") wait on their topics and appear here once a pool has seen them." }));
      },
    };

    // ---- customers ----------------------------------------------------------------------------
    PAGES.customers = {
      title: "Customers",
      controls(params) {
        const form = el("form", { class: "controls" });
        const input = el("input", { id: "cid", size: 14, placeholder: "C0000001", value: params.get("id") || "", spellcheck: "false" });
        const account = el("input", { id: "account", size: 30, placeholder: "IR…", value: params.get("account") || "", spellcheck: "false" });
        form.append(el("label", { text: "customer id" }, input), el("label", { text: "or account (IBAN)" }, account), el("button", { type: "submit", text: "Look up" }));
        form.addEventListener("submit", e => { e.preventDefault(); go(input.value.trim() ? { page: "customers", id: input.value.trim() } : account.value.trim() ? { page: "customers", account: account.value.trim() } : { page: "customers" }); });
        return form;
      },
      async load(box, params) {
        const id = params.get("id");
        if (!id) {
          const list = await api("customers?limit=25" + (params.get("account") ? "&account=" + encodeURIComponent(params.get("account")) : ""));
          box.append(el("p", { class: "muted", id: "customer-total", "data-value": list.total, text: num(list.total) + " customers in the store" + (params.get("account") ? "; holding " + params.get("account") + ":" : "; the first 25:") }));
          box.append(table([["id", c => link({ page: "customers", id: c.id }, c.id)], ["name", c => txt(c.name)], ["language", c => c.language],
            ["channels", c => c.channels.map(ch => ch.channel + (ch.enabled ? "" : " (off)")).join(", ")], ["active", c => c.active ? "yes" : "no"]], list.customers));
          return;
        }
        const [c, recent] = await Promise.all([api("customers/" + encodeURIComponent(id)), api("deliveries?limit=20&customer=" + encodeURIComponent(id)).catch(() => ({ jobs: [] }))]);
        const name = txt(c.name, "h2"); name.className = "customer-name"; name.id = "customer-name";
        const profile = el("section", { class: "panel", id: "customer", "data-customer": c.id }, name,
          el("dl", { class: "facts" },
            el("dt", { text: "id" }), el("dd", { class: "mono", text: c.id }),
            el("dt", { text: "status" }), el("dd", {}, c.active === false ? pill("inactive", "bad") : pill("active", "ok")),
            el("dt", { text: "language" }), el("dd", { text: c.language }),
            el("dt", { text: "time zone" }), el("dd", { text: c.timezone || "—" }),
            el("dt", { text: "birthday" }), el("dd", { text: c.birthday || "—" }),
            el("dt", { text: "accounts" }), el("dd", { class: "mono", text: (c.accounts || []).join(" · ") || "none" })));
        box.append(profile, el("h2", { text: "Channels" }));
        box.append(table([["channel", ch => ch.channel], ["address", ch => el("span", { class: "mono", text: ch.address })],
          ["enabled", ch => ch.enabled ? pill("on", "ok") : pill("off", "warn")], ["events", ch => (ch.events || []).join(", ") || "all"],
          ["minimum amounts", ch => Object.entries(ch.minAmounts || {}).map(([k, v]) => k + " ≥ " + v).join(", ")], ["quiet hours", ch => ch.quietHours || ""]],
          c.channels, ch => ({ "data-channel": ch.channel })));
        box.append(el("h2", { text: "Recent deliveries" }));
        box.append(recent.jobs.length ? table(jobColumns([["last answer", j => txt(j.reason || j.lastResponse || ""), { cls: "wrap" }]]), recent.jobs) : empty("no delivery to this customer in the ledger"));
      },
    };

    // ---- demo inbox ---------------------------------------------------------------------------
    PAGES.inbox = {
      title: "Demo inbox", refresh: 2000,
      async load(box) {
        let inbox;
        try { inbox = await api("demo/inbox"); }
        catch (err) { if (err.status === 404) { box.append(empty("This server runs no demo gateways (start it with chapar serve --demo).")); return; } throw err; }
        box.append(el("p", { class: "muted" }, "What the demo gateways received, the latest first: ",
          el("b", { id: "inbox-received", "data-value": inbox.received, text: num(inbox.received) }), " message(s) so far; the last " + inbox.messages.length + " are kept."));
        const list = el("div", { class: "inbox", id: "inbox" });
        for (const m of inbox.messages) {
          const text = txt(m.text, "div"); text.className = "msg-text";
          list.append(el("article", { class: "msg", "data-channel": m.channel, "data-job": m.job || "" },
            el("div", { class: "meta" }, when(m.at), pill(m.channel, m.channel === "sms" ? "ok" : ""), el("span", { text: m.gateway }), el("span", { class: "mono", text: "to " + m.to }),
              m.job ? el("span", { class: "mono", title: m.job, text: "job " + m.job.slice(0, 12) + "…" }) : null), text));
        }
        if (!inbox.messages.length) list.append(empty("nothing received yet"));
        box.append(list);
      },
    };

    """##
}
