extension ConsoleAssets {
    /// The console's style sheet. Persian text gets a font stack with Arabic script first
    /// (`.fa`, `[lang=fa]`, and every cell or message whose direction is `auto`), so the glyphs
    /// come from a face made for them rather than whichever fallback the browser finds.
    static let css = ##"""
    :root {
      --ink: #1b2333; --muted: #5d6778; --line: #dde2ea; --paper: #ffffff; --ground: #f3f5f8;
      --navy: #17294a; --navy-2: #22406f; --accent: #2f6fd6; --ok: #17803d; --warn: #b26a00; --bad: #b3261e;
      --latin: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", "Liberation Sans", sans-serif;
      --persian: "Vazirmatn", "Noto Sans Arabic", "Noto Naskh Arabic", "Segoe UI", Tahoma, "DejaVu Sans", sans-serif;
      --mono: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", "Liberation Mono", Menlo, monospace;
    }
    * { box-sizing: border-box; }
    html { font-size: 14px; }
    body { margin: 0; font-family: var(--latin); color: var(--ink); background: var(--ground); line-height: 1.45; }
    .fa, [lang=fa], [dir=rtl], td[dir=auto], .msg-text { font-family: var(--persian); }
    .json-string { font-family: var(--mono); }
    pre.json .json-string.fa { font-family: var(--persian); }
    [dir=auto], [dir=rtl] { unicode-bidi: isolate; }
    a { color: var(--accent); text-decoration: none; }
    a:hover { text-decoration: underline; }
    code, .mono { font-family: var(--mono); font-size: .92em; }
    h1 { font-size: 1.45rem; margin: 0 0 .8rem; font-weight: 600; }
    h2 { font-size: 1.1rem; margin: 1.4rem 0 .5rem; font-weight: 600; }
    h3 { font-size: 1rem; margin: 1rem 0 .4rem; font-weight: 600; }
    .muted { color: var(--muted); }
    .bad { color: var(--bad); } .ok { color: var(--ok); } .warn { color: var(--warn); }

    header.top { position: sticky; top: 0; z-index: 5; display: flex; align-items: center; gap: 1.2rem; flex-wrap: wrap;
      background: var(--navy); color: #fff; padding: .45rem 1.2rem; box-shadow: 0 1px 3px rgba(0,0,0,.25); }
    .brand { color: #fff; font-size: 1.15rem; font-weight: 600; white-space: nowrap; }
    .brand:hover { text-decoration: none; }
    .brand .fa { font-weight: 500; opacity: .85; margin-inline-start: .2rem; }
    nav { display: flex; flex-wrap: wrap; gap: .15rem; flex: 1; }
    nav a { color: #c9d7f2; padding: .35rem .6rem; border-radius: 4px; white-space: nowrap; }
    nav a:hover { background: var(--navy-2); color: #fff; text-decoration: none; }
    nav a.active { background: #fff; color: var(--navy); font-weight: 600; }
    .status { display: flex; align-items: center; gap: .8rem; font-size: .9rem; color: #c9d7f2; white-space: nowrap; }
    .live::before { content: ""; display: inline-block; width: .55rem; height: .55rem; border-radius: 50%; background: #7d8aa3; margin-inline-end: .35rem; }
    .live.on::before { background: #38d26b; } .live.off::before { background: #ff6b5f; }
    button.link { background: none; border: 0; color: #c9d7f2; padding: 0; cursor: pointer; font: inherit; text-decoration: underline; }

    main { padding: 1.1rem 1.4rem 3rem; max-width: 1500px; }
    .token-panel { padding: 2rem 1.4rem; }
    .token-panel form { background: var(--paper); border: 1px solid var(--line); border-radius: 6px; padding: 1.2rem 1.4rem; max-width: 38rem; }
    .token-panel h2 { margin-top: 0; }

    .title-row { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
    .title-row h1 { margin-bottom: .6rem; }
    .pill { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .82rem; font-weight: 600; background: #e7ebf2; color: var(--ink); white-space: nowrap; }
    .pill.ok, .pill.sent, .pill.delivered, .pill.closed, .pill.accepted, .pill.ready { background: #dcf3e3; color: var(--ok); }
    .pill.warn, .pill.retrying, .pill.scheduled, .pill.half-open, .pill.half_open, .pill.retry, .pill.starting, .pill.draining { background: #fff0d6; color: var(--warn); }
    .pill.bad, .pill.dead, .pill.failed, .pill.expired, .pill.open, .pill.rejected { background: #fbe1df; color: var(--bad); }

    .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(11.5rem, 1fr)); gap: .7rem; margin-bottom: .6rem; }
    .card { background: var(--paper); border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem .5rem; min-width: 0; }
    .card .label { color: var(--muted); font-size: .85rem; }
    .card .value { font-size: 1.65rem; font-weight: 650; font-variant-numeric: tabular-nums; line-height: 1.25; }
    .card .sub { color: var(--muted); font-size: .8rem; }
    .card svg { display: block; width: 100%; height: 28px; margin-top: .2rem; }

    .grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(30rem, 1fr)); gap: .9rem; margin-bottom: .9rem; }
    .panel { background: var(--paper); border: 1px solid var(--line); border-radius: 6px; padding: .7rem .9rem; min-width: 0; }
    .panel h2, .panel h3 { margin-top: 0; }
    .chart { display: block; width: 100%; height: auto; }
    .chart .grid { stroke: #e8ecf2; stroke-width: 1; }
    .chart text { fill: var(--muted); font-size: 9px; font-family: var(--latin); }
    .legend { display: flex; gap: 1rem; flex-wrap: wrap; font-size: .85rem; color: var(--muted); margin-top: .2rem; }
    .legend i { display: inline-block; width: .8rem; height: .22rem; vertical-align: middle; margin-inline-end: .3rem; border-radius: 2px; }

    table { border-collapse: collapse; background: var(--paper); width: 100%; margin: .2rem 0 1rem; border: 1px solid var(--line); }
    .panel table { border: 0; margin-bottom: .2rem; }
    th, td { padding: .34rem .6rem; border-bottom: 1px solid var(--line); text-align: start; vertical-align: top; }
    th { background: #eef1f6; font-weight: 600; font-size: .88rem; color: #36405a; white-space: nowrap; }
    tr:hover td { background: #f8fafc; }
    td.num, th.num { text-align: end; font-variant-numeric: tabular-nums; white-space: nowrap; }
    td.wrap { max-width: 32rem; overflow-wrap: anywhere; }
    td.mono { font-family: var(--mono); font-size: .86rem; }
    .empty { color: var(--muted); font-style: italic; padding: .6rem 0; }

    .bar { display: inline-block; width: 5rem; height: .45rem; background: #e7ebf2; border-radius: 3px; vertical-align: middle; margin-inline-start: .4rem; overflow: hidden; }
    .bar > span { display: block; height: 100%; background: var(--accent); }
    .bar.hot > span { background: var(--bad); }

    form.controls { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; background: var(--paper); border: 1px solid var(--line);
      border-radius: 6px; padding: .6rem .8rem; margin-bottom: .9rem; }
    form.controls label { display: flex; flex-direction: column; font-size: .82rem; color: var(--muted); gap: .15rem; }
    input, select, button { font: inherit; }
    input, select { padding: .3rem .45rem; border: 1px solid #c5ccd8; border-radius: 4px; background: #fff; color: var(--ink); }
    button { padding: .32rem .8rem; border: 1px solid var(--navy-2); border-radius: 4px; background: var(--navy-2); color: #fff; cursor: pointer; }
    button.secondary { background: #fff; color: var(--navy-2); }
    button.danger { background: var(--bad); border-color: var(--bad); }
    button:disabled { opacity: .5; cursor: default; }
    .notice { background: #e8f1ff; border: 1px solid #bcd3fb; border-radius: 6px; padding: .5rem .8rem; margin-bottom: .8rem; }
    .error { background: #fdeceb; border: 1px solid #f3bcb8; border-radius: 6px; padding: .5rem .8rem; margin: .6rem 0; color: var(--bad); }

    .settings { display: flex; flex-wrap: wrap; gap: .35rem; }
    .settings span { background: #eef1f6; border-radius: 4px; padding: .05rem .45rem; font-size: .85rem; }
    .records { display: flex; flex-direction: column; gap: .6rem; }
    .record { background: var(--paper); border: 1px solid var(--line); border-radius: 6px; padding: .5rem .8rem; }
    .record .meta { display: flex; flex-wrap: wrap; gap: .9rem; font-size: .85rem; color: var(--muted); margin-bottom: .3rem; }
    .record .meta b { color: var(--ink); }
    pre.json { margin: 0; font-family: var(--mono); font-size: .88rem; white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.5; }
    .json-key { color: #7a3e9d; } .json-string { color: #1f6b35; } .json-number { color: #1c5fb8; } .json-literal { color: #b05a00; }

    .jobs { display: grid; gap: .9rem; }
    .job { background: var(--paper); border: 1px solid var(--line); border-radius: 6px; padding: .7rem .9rem; }
    .job header { display: flex; gap: .7rem; flex-wrap: wrap; align-items: baseline; margin-bottom: .4rem; }
    .job header h3 { margin: 0; }
    dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .9rem; margin: .2rem 0 .6rem; font-size: .92rem; }
    dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
    ol.timeline { list-style: none; margin: .3rem 0 0; padding: 0; border-inline-start: 2px solid var(--line); }
    ol.timeline li { position: relative; padding: .25rem 0 .45rem 1rem; }
    ol.timeline li::before { content: ""; position: absolute; inset-inline-start: -6px; top: .6rem; width: 10px; height: 10px; border-radius: 50%; background: var(--accent); }
    ol.timeline li.step-bad::before { background: var(--bad); } ol.timeline li.step-ok::before { background: var(--ok); } ol.timeline li.step-warn::before { background: var(--warn); }
    .grid2.trace { align-items: start; }
    .jobs > h3 { margin: 0; }
    ol.timeline .when { color: var(--muted); font-size: .85rem; margin-inline-end: .5rem; font-variant-numeric: tabular-nums; }
    ol.timeline .said { display: block; color: var(--muted); font-size: .86rem; overflow-wrap: anywhere; }

    .inbox { display: flex; flex-direction: column; gap: .55rem; max-width: 56rem; }
    .msg { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: .5rem .8rem; }
    .msg .meta { display: flex; gap: .8rem; flex-wrap: wrap; color: var(--muted); font-size: .85rem; }
    .msg-text { font-size: 1.08rem; line-height: 1.75; margin-top: .25rem; white-space: pre-wrap; text-align: start; }
    .customer-name { font-size: 1.6rem; margin: .2rem 0; text-align: left; }
    .spacer { height: .9rem; }
    td a, td time { white-space: nowrap; }
    """##
}
