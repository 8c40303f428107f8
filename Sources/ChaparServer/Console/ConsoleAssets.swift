/// The console's files. Kept as Swift string literals so the one binary carries them (a
/// resource bundle would have to travel beside it); no CDN and no build step, so what is here is
/// exactly what the browser runs. The page holds no data: the script calls `/v1` with the
/// operator's bearer token. The style sheet is in `ConsoleAssets+Style.swift`, the script in
/// `ConsoleAssets+Script.swift` (routing, API calls, charts) and `ConsoleAssets+Pages.swift`
/// (one renderer per page).
enum ConsoleAssets {
    struct Asset: Sendable {
        var contentType: String
        var text: String
    }

    static let files: [String: Asset] = [
        "index.html": Asset(contentType: "text/html; charset=utf-8", text: indexHTML),
        "console.css": Asset(contentType: "text/css; charset=utf-8", text: css),
        "console.js": Asset(contentType: "text/javascript; charset=utf-8", text: script + pages),
    ]

    /// The shell every page shares. The strict CSP (`default-src 'self'`) allows no inline
    /// script or style, so everything dynamic is built by console.js with DOM calls.
    static let indexHTML = ##"""
    <!doctype html>
    <html lang="en" dir="ltr">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="referrer" content="no-referrer">
    <title>Chapar console</title>
    <link rel="stylesheet" href="/console/console.css">
    <script src="/console/console.js" defer></script>
    </head>
    <body>
    <header class="top">
      <a class="brand" href="#page=overview"><span class="mark">Chapar</span> <span class="fa" lang="fa" dir="rtl">چاپار</span></a>
      <nav id="nav" aria-label="Pages"></nav>
      <div class="status"><span id="live" class="live" title="last refresh">…</span>
        <button id="forget" class="link" type="button" title="Forget the API token in this tab">Sign out</button></div>
    </header>
    <section id="token-panel" class="token-panel" hidden>
      <form id="token-form">
        <h2>API token</h2>
        <p>The console reads everything through the <code>/v1</code> API with a bearer token (one of <code>server.tokens</code>;
        <code>chapar serve --demo</code> prints a console URL that carries one). It is kept in this tab's session storage only.</p>
        <label>Token <input id="token" type="password" autocomplete="off" spellcheck="false" required></label>
        <button type="submit">Open the console</button>
        <p id="token-error" class="bad"></p>
      </form>
    </section>
    <main id="page"><p class="muted">Loading…</p></main>
    <noscript><p>The Chapar console needs JavaScript.</p></noscript>
    </body>
    </html>
    """##
}
