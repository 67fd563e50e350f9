/**
 * The demo page served at `/`: join a channel, send messages, watch them arrive. Plain HTML and
 * a few lines of script speaking protocol v1 (JSON), so it needs no front-end build.
 */
export const DEMO_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wsgw demo</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1d2330; }
  h1 { font-size: 1.3rem; }
  form { display: flex; gap: .5rem; margin: .6rem 0; }
  input { flex: 1; padding: .45rem .6rem; border: 1px solid #b8c0cc; border-radius: 6px; font: inherit; }
  button { padding: .45rem .9rem; border: 0; border-radius: 6px; background: #2f5bd3; color: #fff; font: inherit; cursor: pointer; }
  button:disabled { background: #9aa6bd; cursor: default; }
  #status { font-size: .85rem; color: #5b6475; }
  #log { list-style: none; padding: 0; border-top: 1px solid #e1e5ec; }
  #log li { padding: .35rem 0; border-bottom: 1px solid #eef1f5; white-space: pre-wrap; word-break: break-word; }
  #log .sys { color: #6b7486; font-size: .85rem; }
  #log .err { color: #b3261e; }
  #log b { color: #2f5bd3; font-weight: 600; }
</style>
</head>
<body>
<h1>wsgw demo</h1>
<p id="status">connecting...</p>
<form id="join"><input id="token" placeholder="token (leave empty for anonymous access)" autocomplete="off"><input id="channel" value="room:lobby" aria-label="channel"><button id="joinBtn">Join</button></form>
<form id="send"><input id="text" placeholder="message" autocomplete="off" aria-label="message"><button id="sendBtn" disabled>Send</button></form>
<ul id="log"></ul>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  let ws, nextId = 1, channel = null;
  const pending = new Map();
  const log = (text, cls) => { const li = document.createElement('li'); if (cls) li.className = cls; li.textContent = text; $('log').prepend(li); };
  const request = (frame) => new Promise((resolve, reject) => { const id = nextId++; pending.set(id, { resolve, reject }); ws.send(JSON.stringify({ ...frame, id })); });

  function connect() {
    const token = $('token').value.trim();
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/' + (token ? '?token=' + encodeURIComponent(token) : '');
    ws = new WebSocket(url, 'wsgw.v1.json');
    ws.onopen = () => { $('status').textContent = 'connected to ' + location.host; if (channel) join(channel); };
    ws.onclose = (e) => { $('status').textContent = 'disconnected (' + e.code + (e.reason ? ' ' + e.reason : '') + '), retrying...'; $('sendBtn').disabled = true; setTimeout(connect, 1000 + Math.random() * 2000); };
    ws.onmessage = (e) => {
      const f = JSON.parse(e.data);
      if (f.op === 'msg') {
        const li = document.createElement('li'); const b = document.createElement('b'); b.textContent = f.ch + ' ';
        li.append(b, typeof f.data === 'object' && f.data && 'text' in f.data ? String(f.data.text) : JSON.stringify(f.data)); $('log').prepend(li);
      } else if (f.op === 'ack' || f.op === 'pong') { pending.get(f.id)?.resolve(f); pending.delete(f.id); }
      else if (f.op === 'error') { log(f.code + ': ' + f.message, 'err'); pending.get(f.id)?.reject(f); pending.delete(f.id); }
    };
  }
  async function join(ch) {
    try { await request({ op: 'sub', ch }); channel = ch; $('sendBtn').disabled = false; log('joined ' + ch, 'sys'); } catch {}
  }
  $('join').onsubmit = (e) => {
    e.preventDefault();
    const ch = $('channel').value.trim();
    if (channel && channel !== ch) request({ op: 'unsub', ch: channel }).catch(() => {});
    if (ws.readyState === WebSocket.OPEN && $('token').dataset.used === $('token').value) join(ch);
    else { $('token').dataset.used = $('token').value; channel = ch; ws.onclose = null; ws.close(); connect(); }
  };
  $('send').onsubmit = (e) => {
    e.preventDefault();
    const text = $('text').value; if (!text || !channel) return;
    request({ op: 'pub', ch: channel, data: { text } }).then(() => { $('text').value = ''; }, () => {});
  };
  // App-level ping: browsers cannot see WebSocket ping frames, so this is how the page notices a dead link.
  setInterval(() => { if (ws.readyState === WebSocket.OPEN) request({ op: 'ping' }).catch(() => {}); }, 20000);
  // A token in the page's own URL (as npm run dev:regions prints it) is used from the start.
  $('token').value = new URLSearchParams(location.search).get('token') || '';
  $('token').dataset.used = $('token').value;
  connect();
})();
</script>
</body>
</html>
`;
