/**
 * The demo page served at `/`: join a channel, send messages, watch them arrive. Plain HTML and a
 * module script on top of the client SDK bundle the gateway serves at `/wsgw-client.js`.
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
<script type="module">
// The page uses the client SDK the gateway serves (services/client): reconnects with jitter,
// resubscribes with its position, and recovers what it missed while away.
import { WsgwClient } from '/wsgw-client.js';

const $ = (id) => document.getElementById(id);
const log = (text, cls) => { const li = document.createElement('li'); if (cls) li.className = cls; li.textContent = text; $('log').prepend(li); };
const params = new URLSearchParams(location.search);
$('token').value = params.get('token') || '';
let client, channel = null;

function connect() {
  client?.close();
  const token = $('token').value.trim();
  client = new WsgwClient({ url: (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/', token: token || undefined });
  client.on('state', ({ state }) => {
    $('status').textContent = state === 'open' ? 'connected to ' + location.host : state + '...';
    $('sendBtn').disabled = state !== 'open' || !channel;
  });
  client.on('disconnected', ({ code, reason, delayMs }) => log('disconnected (' + code + (reason ? ' ' + reason : '') + ')' + (delayMs === undefined ? '' : ', retrying in ' + delayMs + ' ms'), 'sys'));
  client.on('resubscribed', ({ ch, recovered, missed }) => log((recovered ? 'back on ' + ch + ', recovered ' + missed + ' missed message(s)' : 'back on ' + ch), 'sys'));
  client.on('gap', ({ ch }) => log('some messages on ' + ch + ' could not be recovered', 'err'));
  client.on('error', ({ error }) => log(error.message, 'err'));
  client.on('message', ({ ch, data }) => {
    const li = document.createElement('li'); const b = document.createElement('b'); b.textContent = ch + ' ';
    li.append(b, data && typeof data === 'object' && 'text' in data ? String(data.text) : JSON.stringify(data)); $('log').prepend(li);
  });
  client.connect().catch((e) => log(e.message, 'err'));
}

$('join').onsubmit = async (e) => {
  e.preventDefault();
  const ch = $('channel').value.trim();
  if ($('token').dataset.used !== $('token').value) { $('token').dataset.used = $('token').value; channel = null; connect(); }
  if (channel && channel !== ch) client.unsubscribe(channel).catch(() => {});
  try { await client.subscribe(ch); channel = ch; $('sendBtn').disabled = false; log('joined ' + ch, 'sys'); }
  catch (err) { log(err.code + ': ' + err.message, 'err'); }
};
$('send').onsubmit = (e) => {
  e.preventDefault();
  const text = $('text').value; if (!text || !channel) return;
  client.publish(channel, { text }).then(() => { $('text').value = ''; }, (err) => log(err.code + ': ' + err.message, 'err'));
};
$('token').dataset.used = $('token').value;
connect();
</script>
</body>
</html>
`;
