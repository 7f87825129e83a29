// HTTPPage: the self-contained page at "/" — the live picture and what camd is doing, from /state.

enum HTTPPage {
    static let index: [UInt8] = Array("""
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
    <title>camd</title>
    <style>
    body { margin: 0; background: #111; color: #ddd; font: 14px/1.4 system-ui, sans-serif; }
    header { padding: 8px 12px; display: flex; gap: 16px; flex-wrap: wrap; align-items: baseline; }
    header b { color: #fff; font-size: 16px; }
    main { display: flex; justify-content: center; }
    img { max-width: 100vw; max-height: calc(100vh - 48px); object-fit: contain; display: block; }
    .bad { color: #f66; }
    </style></head>
    <body>
    <header><b>camd</b><span id="source">…</span><span id="size"></span><span id="fps"></span><span id="clients"></span></header>
    <main><img id="live" src="stream" alt="live camera stream"></main>
    <script>
    // With http_token, the page is opened as /?token=…; its own requests carry the token on.
    const token = new URLSearchParams(location.search).get('token');
    const suffix = token ? '?token=' + encodeURIComponent(token) : '';
    if (token) document.getElementById('live').src = 'stream' + suffix;
    async function refresh() {
      try {
        const s = await (await fetch('state' + suffix, {cache: 'no-store'})).json();
        document.getElementById('source').textContent = s.source + ' (' + s.source_state + ')';
        document.getElementById('source').className = s.source_state === 'streaming' ? '' : 'bad';
        document.getElementById('size').textContent = s.width + '×' + s.height + ' ' + s.format;
        document.getElementById('fps').textContent = s.fps.toFixed(1) + ' fps'
          + (s.drop_same_frames > 0 ? ' sent, ' + s.capture_fps.toFixed(1) + ' captured' : '');
        document.getElementById('clients').textContent = s.viewers + ' viewer' + (s.viewers === 1 ? '' : 's');
      } catch (e) {
        document.getElementById('source').textContent = 'camd not reachable';
        document.getElementById('source').className = 'bad';
      }
    }
    refresh(); setInterval(refresh, 1000);
    </script>
    </body></html>

    """.utf8)
}
