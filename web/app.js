// SPDX-License-Identifier: MIT
// The taskwire dashboard: one WebSocket to /ws with a client_id kept in localStorage, so a
// reload (or a dropped connection) finds its tasks again and resumes them from the last seq it
// has. No framework and no build step: the server embeds these files as they are.
'use strict';

const $ = (sel) => document.querySelector(sel);

const state = {
  clientId: localStorage.getItem('taskwire.client_id') || newClientId(),
  token: sessionStorage.getItem('taskwire.token') || '',
  ws: null,
  open: false,
  retryMs: 500,
  nextId: 1,
  tasks: new Map(),     // task_id -> task record
  order: [],            // task ids, newest first
  selected: null,       // task whose items the table shows
  sort: { key: 'path', dir: 1 },
  pendingSubmits: new Map(),  // request id -> {kind, label}
};
localStorage.setItem('taskwire.client_id', state.clientId);

function newClientId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return 'web-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// --- formatting -------------------------------------------------------------------------

function fmtBytes(n) {
  if (n == null) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (Math.abs(n) >= 1024 && u < units.length - 1) { n /= 1024; u++; }
  return u === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${units[u]}`;
}

function fmtCount(n) {
  if (n == null) return '';
  if (Math.abs(n) < 10000) return String(Math.round(n));
  if (Math.abs(n) < 1e6) return (n / 1e3).toFixed(n < 1e5 ? 1 : 0) + 'k';
  if (Math.abs(n) < 1e9) return (n / 1e6).toFixed(n < 1e8 ? 1 : 0) + 'M';
  return (n / 1e9).toFixed(1) + 'G';
}

function fmtDuration(s) {
  if (!isFinite(s) || s < 0) return '?';
  if (s < 10) return s.toFixed(1) + ' s';
  if (s < 60) return Math.round(s) + ' s';
  const m = Math.floor(s / 60), r = Math.round(s % 60);
  return m < 60 ? `${m}m${String(r).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function notice(text) { $('#notice').textContent = text || ''; }

// --- the connection ---------------------------------------------------------------------

async function start() {
  $('#who').textContent = `client ${state.clientId}`;
  // /metrics answers 401 when the server has a token and ours is missing or wrong: the one way
  // a page can tell, since a refused WebSocket handshake shows no status to scripts.
  const q = state.token ? `?token=${encodeURIComponent(state.token)}` : '';
  let status = 0;
  try {
    status = (await fetch(`/metrics${q}`, { cache: 'no-store' })).status;
  } catch (e) {
    setConn('closed', 'server unreachable');
    return setTimeout(start, 2000);
  }
  if (status === 401) {
    $('#token-panel').hidden = false;
    $('#token-error').textContent = state.token ? 'That token was refused.' : '';
    setConn('closed', 'token needed');
    $('#token').focus();
    return;
  }
  $('#token-panel').hidden = true;
  connect();
}

$('#token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  state.token = $('#token').value;
  sessionStorage.setItem('taskwire.token', state.token);
  start();
});

function setConn(kind, text) {
  const el = $('#conn');
  el.dataset.state = kind;
  el.textContent = text;
  const usable = kind === 'open';
  $('#scan-start').disabled = !usable;
  $('#tick-start').disabled = !usable;
  for (const b of document.querySelectorAll('.task button')) b.disabled = !usable;
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  let url = `${proto}//${location.host}/ws?client_id=${encodeURIComponent(state.clientId)}`;
  if (state.token) url += `&token=${encodeURIComponent(state.token)}`;
  setConn('connecting', 'connecting');
  const ws = new WebSocket(url);
  state.ws = ws;
  ws.onmessage = (m) => {
    let msg;
    try { msg = JSON.parse(m.data); } catch { return; }
    onMessage(msg);
  };
  ws.onclose = (ev) => {
    if (state.ws !== ws) return;
    state.open = false;
    const why = ev.code === 1001 ? 'server restarting' : ev.code === 1008 ? 'too slow, reconnecting' : 'disconnected';
    setConn('closed', why);
    setTimeout(() => start(), state.retryMs);
    state.retryMs = Math.min(state.retryMs * 2, 8000);
  };
}

function send(msg) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify(msg));
    return true;
  }
  notice('Not connected; try again in a moment.');
  return false;
}

function onMessage(msg) {
  switch (msg.type) {
    case 'hello': return onHello(msg);
    case 'tasks': return onTaskList(msg);
    case 'accepted': return onAccepted(msg);
    case 'error': return onError(msg);
    case 'ok': return;
    case 'started': case 'progress': case 'item': case 'finished': return onEvent(msg);
  }
}

function onHello(msg) {
  state.open = true;
  state.retryMs = 500;
  setConn('open', 'connected');
  const select = $('#scan-root');
  const chosen = select.value;
  select.replaceChildren(...(msg.roots || []).map((r) => new Option(r, r)));
  if (chosen && (msg.roots || []).includes(chosen)) select.value = chosen;
  // What does the server have for us? Every task it lists is resumed from the last seq this
  // page has (0 after a reload), which also brings back the items of finished scans.
  send({ type: 'tasks', id: 'sync' });
}

function onTaskList(msg) {
  if (msg.id !== 'sync') return;
  for (const t of msg.tasks) {
    const rec = ensureTask(t.task_id, t.task, labelFor(t.task));
    if (rec.status && rec.lastSeq >= t.seq) continue;  // nothing new
    send({ type: 'resume', id: `resume:${t.task_id}`, task_id: t.task_id, after_seq: rec.lastSeq });
  }
  render();
}

function onAccepted(msg) {
  const what = state.pendingSubmits.get(msg.id);
  state.pendingSubmits.delete(msg.id);
  const rec = ensureTask(msg.task_id, what ? what.kind : '', what ? what.label : msg.task_id);
  if (rec.kind === 'scan_models') select(rec.id);
  notice('');
  render();
}

function onError(msg) {
  if (msg.id && msg.id.startsWith('resume:')) {
    // Expired while we were away: forget it rather than show it as running forever.
    const id = msg.id.slice(7);
    const rec = state.tasks.get(id);
    if (rec && !rec.status) { state.tasks.delete(id); state.order = state.order.filter((x) => x !== id); render(); }
    return;
  }
  state.pendingSubmits.delete(msg.id);
  notice(`${msg.code}: ${msg.message}`);
}

// --- tasks ------------------------------------------------------------------------------

function labelFor(kind, params) {
  if (kind === 'scan_models') {
    const where = params ? `${params.root || ''}${params.path ? '/' + params.path : ''}` : '';
    return `Scan ${where || 'models'}${params && params.hash ? ' + SHA-256' : ''}`;
  }
  if (kind === 'ticker') return params ? `Ticker ${params.count} × ${params.interval_ms} ms` : 'Ticker';
  if (kind === 'hash_files') return 'Hash files';
  return kind || 'task';
}

function ensureTask(id, kind, label) {
  let rec = state.tasks.get(id);
  if (!rec) {
    rec = { id, kind, label, lastSeq: 0, done: 0, total: null, status: '', items: [], error: null,
            result: null, elapsedMs: null, rate: 0, sampleAt: 0, sampleDone: 0, file: null, node: null };
    state.tasks.set(id, rec);
    state.order.unshift(id);
  } else if (!rec.kind && kind) {
    rec.kind = kind;
    rec.label = label;
  }
  return rec;
}

function onEvent(ev) {
  const rec = state.tasks.get(ev.task_id);
  if (!rec || ev.seq <= rec.lastSeq) return;  // a replay overlapping what we have
  rec.lastSeq = ev.seq;
  if (ev.type === 'progress') {
    rec.done = ev.done;
    rec.total = ev.total;
    rec.file = ev.file ? { name: ev.file, done: ev.file_bytes_done, size: ev.file_bytes } : null;
    const now = performance.now();
    if (!rec.sampleAt) { rec.sampleAt = now; rec.sampleDone = ev.done; }
    else if (now - rec.sampleAt >= 250) {
      const inst = (ev.done - rec.sampleDone) / ((now - rec.sampleAt) / 1000);
      rec.rate = rec.rate ? 0.6 * rec.rate + 0.4 * inst : inst;
      rec.sampleAt = now; rec.sampleDone = ev.done;
    }
  } else if (ev.type === 'item') {
    rec.items.push(ev.item);
    if (state.selected === rec.id) scheduleTable();
  } else if (ev.type === 'finished') {
    rec.status = ev.status;
    rec.result = ev.result;
    rec.error = ev.error;
    rec.elapsedMs = ev.elapsed_ms;
    rec.file = null;
    if (!state.selected && rec.kind === 'scan_models') select(rec.id);
  } else if (ev.type === 'started' && !rec.status) {
    rec.started = true;
  }
  scheduleRender(rec);
}

// Redraws are batched per animation frame: a scan can send thousands of events a second.
const dirty = new Set();
let frameQueued = false, tableQueued = false;
function scheduleRender(rec) {
  dirty.add(rec.id);
  if (!frameQueued) { frameQueued = true; requestAnimationFrame(flush); }
}
function scheduleTable() {
  tableQueued = true;
  if (!frameQueued) { frameQueued = true; requestAnimationFrame(flush); }
}
// The table is rebuilt whole (sorted, filtered): at most four times a second while items stream.
let lastTable = 0, tableTimer = null;
function flush() {
  frameQueued = false;
  for (const id of dirty) { const rec = state.tasks.get(id); if (rec) renderTask(rec); }
  dirty.clear();
  if (!tableQueued || tableTimer) return;
  const wait = 250 - (performance.now() - lastTable);
  if (wait > 0) {
    tableTimer = setTimeout(() => { tableTimer = null; flush(); }, wait);
    return;
  }
  tableQueued = false;
  lastTable = performance.now();
  renderTable();
}

function render() {
  const list = $('#tasks');
  $('#no-tasks').hidden = state.order.length > 0;
  const nodes = state.order.map((id) => renderTask(state.tasks.get(id)));
  list.replaceChildren(...nodes);
  renderTable();
}

function renderTask(rec) {
  if (!rec.node) {
    const li = document.createElement('li');
    li.className = 'task';
    li.dataset.taskId = rec.id;
    li.innerHTML = `<div><div class="title"></div><div class="id"></div></div>
      <div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100"><div class="fill"></div></div>
      <div class="side"><span class="status"></span> <button type="button" class="secondary cancel">Cancel</button></div>
      <div class="info"></div>`;
    li.querySelector('.cancel').addEventListener('click', (e) => {
      e.stopPropagation();
      send({ type: 'cancel', id: `cancel:${rec.id}`, task_id: rec.id });
    });
    li.addEventListener('click', () => select(rec.id));
    rec.node = li;
  }
  const li = rec.node;
  li.classList.toggle('selected', state.selected === rec.id);
  li.dataset.status = rec.status || (rec.started || rec.lastSeq ? 'running' : 'queued');
  li.querySelector('.title').textContent = rec.label;
  li.querySelector('.id').textContent = rec.id;
  const status = li.querySelector('.status');
  status.textContent = li.dataset.status;
  status.dataset.status = li.dataset.status;
  const cancel = li.querySelector('.cancel');
  cancel.hidden = !!rec.status;
  cancel.disabled = !state.open;

  const bar = li.querySelector('.bar');
  let pct = null;
  if (rec.total != null && rec.total > 0) pct = Math.min(100, (100 * rec.done) / rec.total);
  else if (rec.status === 'succeeded') pct = 100;
  if (pct == null && !rec.status) {
    bar.dataset.indeterminate = '';
    bar.removeAttribute('aria-valuenow');
  } else {
    delete bar.dataset.indeterminate;
    bar.setAttribute('aria-valuenow', String(Math.round(pct || 0)));
    bar.querySelector('.fill').style.width = `${pct || 0}%`;
  }
  li.querySelector('.info').textContent = infoLine(rec, pct);
  return li;
}

function infoLine(rec, pct) {
  const unit = rec.kind === 'hash_files' ? fmtBytes : fmtCount;
  const noun = rec.kind === 'scan_models' ? ' entries' : rec.kind === 'ticker' ? ' ticks' : '';
  const parts = [];
  if (rec.status) {
    const r = rec.result || {};
    if (rec.kind === 'scan_models' && rec.result)
      parts.push(`${fmtCount(r.files)} files, ${fmtBytes(r.bytes)}, ${fmtCount(r.errors)} errors, ${fmtCount(r.cached)} from the cache`);
    else if (rec.kind === 'ticker' && rec.result) parts.push(`${fmtCount(r.ticks)} ticks`);
    else if (rec.kind === 'hash_files' && rec.result) parts.push(`${fmtCount(r.files)} files, ${fmtBytes(r.bytes)}`);
    if (rec.error) parts.push(`${rec.error.code}: ${rec.error.message}`);
    if (rec.elapsedMs != null) parts.push(`in ${fmtDuration(rec.elapsedMs / 1000)}`);
    return parts.join(' · ');
  }
  if (pct != null) parts.push(`${Math.floor(pct)}%  ${unit(rec.done)}/${unit(rec.total)}${noun}`);
  else if (rec.lastSeq) parts.push(`${unit(rec.done)}${noun}`);
  else parts.push('waiting to start');
  if (rec.rate > 0) {
    parts.push(`${unit(rec.rate)}${noun}/s`);
    if (rec.total != null && rec.total > rec.done) parts.push(`ETA ${fmtDuration((rec.total - rec.done) / rec.rate)}`);
  }
  if (rec.file && rec.file.size) parts.push(`hashing ${rec.file.name} ${Math.round((100 * rec.file.done) / rec.file.size)}%`);
  if (rec.kind === 'scan_models') parts.push(`${rec.items.length} models`);
  return parts.join(' · ');
}

function select(id) {
  const before = state.selected;
  state.selected = id;
  for (const x of [before, id]) { const r = x && state.tasks.get(x); if (r && r.node) renderTask(r); }
  renderTable();
}

// --- the items table ----------------------------------------------------------------------

function renderTable() {
  const rec = state.selected ? state.tasks.get(state.selected) : null;
  $('#items-of').textContent = rec ? `from ${rec.label} (${rec.id})` : '';
  const filter = $('#filter').value.trim().toLowerCase();
  let rows = rec ? rec.items : [];
  if (filter) rows = rows.filter((it) => [it.path, it.category, it.format].some((v) => v && String(v).toLowerCase().includes(filter)));
  const { key, dir } = state.sort;
  rows = rows.slice().sort((a, b) => {
    const x = a[key], y = b[key];
    if (x == null && y == null) return 0;
    if (x == null) return 1;
    if (y == null) return -1;
    return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * dir;
  });
  const body = document.createDocumentFragment();
  for (const it of rows) {
    const tr = document.createElement('tr');
    if (it.error) tr.className = 'error';
    const cells = [
      [it.path, ''],
      [it.category || '', ''],
      [it.error ? `error: ${it.error}` : it.format || '', ''],
      [fmtBytes(it.size), 'num'],
      [it.parameters != null ? fmtCount(it.parameters) : '', 'num'],
      [it.sha256 ? it.sha256.slice(0, 16) + '…' : '', 'hash'],
    ];
    for (const [text, cls] of cells) {
      const td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    if (it.sha256) tr.lastChild.title = it.sha256;
    body.appendChild(tr);
  }
  $('#items tbody').replaceChildren(body);
}

for (const th of document.querySelectorAll('#items th')) {
  th.addEventListener('click', () => {
    const key = th.dataset.key;
    state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : 1 };
    for (const h of document.querySelectorAll('#items th')) h.removeAttribute('aria-sort');
    th.setAttribute('aria-sort', state.sort.dir > 0 ? 'ascending' : 'descending');
    renderTable();
  });
}
$('#filter').addEventListener('input', renderTable);

// --- starting tasks -------------------------------------------------------------------------

function submit(kind, params) {
  const id = `submit:${state.nextId++}`;
  state.pendingSubmits.set(id, { kind, label: labelFor(kind, params) });
  if (!send({ type: 'submit', id, task: kind, params })) state.pendingSubmits.delete(id);
}

$('#scan-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const params = { root: $('#scan-root').value, metadata: $('#scan-metadata').checked };
  const path = $('#scan-path').value.trim();
  if (path) params.path = path;
  if ($('#scan-hash').checked) params.hash = 'sha256';
  submit('scan_models', params);
});

$('#tick-form').addEventListener('submit', (e) => {
  e.preventDefault();
  submit('ticker', { count: Number($('#tick-count').value), interval_ms: Number($('#tick-interval').value) });
});

start();
