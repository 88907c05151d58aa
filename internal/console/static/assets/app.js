// app.js is the console's router and pages. Pages are routes in the URL's
// hash (#/functions, #/calls/<id>…), so the server serves one page and
// every link can be bookmarked. Each page reads the JSON API and builds
// its DOM with dom.js (values as text, never as HTML).

import { h, link, route, table, row, json, kv, status, errorBox, duration, time, short } from './dom.js';
import { get, post, stream, token, setToken, AuthError } from './api.js';

const view = document.getElementById('view');
let pageAbort = null; // aborts the current page's requests and stream

// --- theme

const themeKey = 'wasmfaas.theme';
function applyTheme(t) {
  if (t === 'dark' || t === 'light') document.documentElement.dataset.theme = t;
  else delete document.documentElement.dataset.theme;
}
applyTheme(localStorage.getItem(themeKey));
document.getElementById('theme-toggle').addEventListener('click', () => {
  const current = document.documentElement.dataset.theme ||
    (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
  const next = current === 'dark' ? 'light' : 'dark';
  localStorage.setItem(themeKey, next);
  applyTheme(next);
});

const logout = document.getElementById('logout');
logout.addEventListener('click', () => { setToken(''); render(); });

// --- routing

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?');
  const parts = path.split('/').filter((p) => p !== '').map((p) => {
    try { return decodeURIComponent(p); } catch (e) { return p; }
  });
  return { parts, query: new URLSearchParams(query || '') };
}

const pages = {
  functions: (p, q, s) => (p.length ? functionPage(p[0], s) : functionsPage(s)),
  live: (p, q, s) => livePage(q, s),
  calls: (p, q, s) => callPage(p[0] || '', s),
  subjects: (p, q, s) => (p.length ? subjectPage(p[0], s) : subjectsPage(s)),
  deadletters: (p, q, s) => (p.length ? deadLetterPage(p[0], s) : deadLettersPage(s)),
  triggers: (p, q, s) => triggersPage(s),
};

async function render() {
  if (pageAbort) pageAbort.abort();
  const abort = new AbortController();
  pageAbort = abort;
  const { parts, query } = parseHash();
  const name = pages[parts[0]] ? parts[0] : 'functions';
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('current', a.dataset.page === name);
  logout.hidden = !token();
  try {
    const content = await pages[name](parts.slice(1), query, abort.signal);
    if (abort.signal.aborted) return;
    view.replaceChildren(content);
  } catch (err) {
    if (abort.signal.aborted || (err && err.name === 'AbortError')) return;
    if (err instanceof AuthError) view.replaceChildren(loginPage());
    else view.replaceChildren(h('h1', null, 'Error'), errorBox(err));
  }
}

window.addEventListener('hashchange', render);
render();

// --- login

function loginPage() {
  const input = h('input', { type: 'password', id: 'token', name: 'token', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'stack card', id: 'login-form' },
    h('p', null, 'This server wants its API token (http.token). It is kept in this tab only (sessionStorage).'),
    h('label', null, 'Token', input),
    h('div', null, h('button', { type: 'submit', class: 'primary' }, 'Sign in')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    render();
  });
  return h('section', null, h('h1', null, 'Sign in'), token() ? errorBox('The token was refused.') : null, form);
}

// --- functions

// statsOf summarises calls (ExecutionInfo records) that started in the
// last hour: count, error rate, p50 and p99 duration.
function statsOf(calls) {
  const since = Date.now() - 3600e3;
  const recent = calls.filter((c) => new Date(c.start).getTime() >= since);
  const ds = recent.map((c) => c.duration_ns).filter((d) => typeof d === 'number').sort((a, b) => a - b);
  const pct = (p) => (ds.length ? ds[Math.min(ds.length - 1, Math.ceil(p * ds.length) - 1)] : undefined);
  const errors = recent.filter((c) => c.status !== 'ok').length;
  return {
    count: recent.length, errors,
    rate: recent.length ? (100 * errors / recent.length).toFixed(1) + '%' : '–',
    p50: pct(0.5), p99: pct(0.99), capped: calls.length >= 1000,
  };
}

function limitsText(l) {
  if (!l) return '';
  const parts = [];
  if (l.memory_pages) parts.push(l.memory_pages * 64 + ' KiB');
  if (l.timeout) parts.push('timeout ' + l.timeout);
  if (l.max_concurrency) parts.push('×' + l.max_concurrency);
  if (l.max_emits) parts.push(l.max_emits + ' emits');
  return parts.join(', ') || 'defaults';
}

async function functionsPage(signal) {
  const [{ functions }, { triggers }] = await Promise.all([get('/v1/functions', signal), get('/v1/triggers', signal)]);
  functions.sort((a, b) => a.name.localeCompare(b.name));
  const calls = await Promise.all(functions.map((f) =>
    get('/v1/calls?limit=1000&function=' + encodeURIComponent(f.name), signal).then((r) => r.calls)));
  const rows = functions.map((f, i) => {
    const s = statsOf(calls[i]);
    const trig = triggers.filter((t) => t.function === f.name).map((t) => t.name);
    return row([
      link(f.name, 'functions', f.name), String(f.revision),
      h('code', { title: f.spec.module }, short(f.spec.module)),
      (f.spec.grants || []).join(', '), limitsText(f.spec.limits), trig.join(', '),
      String(s.count) + (s.capped ? '+' : ''), s.rate, duration(s.p50), duration(s.p99),
    ], { 'data-function': f.name });
  });
  return h('section', null, h('h1', null, 'Functions'),
    functions.length ? table(['Name', 'Rev', 'Module', 'Grants', 'Limits', 'Triggers', 'Calls (1h)', 'Errors', 'p50', 'p99'], rows, { id: 'functions-table' })
      : h('p', { class: 'muted' }, 'No functions yet: deploy one with `wasmfaas deploy`.'),
    h('p', { class: 'muted' }, 'Calls, error rate and durations cover the last hour, from the newest 1,000 calls of each function.'));
}

function callsTable(calls, id) {
  return table(['Start', 'Function', 'Status', 'Duration', 'Subject', 'Call'], calls.map((c) => row([
    time(c.start), c.function, status(c.status), duration(c.duration_ns), (c.event && c.event.subject) || '',
    link(c.call_id, 'calls', c.call_id),
  ], { 'data-call-id': c.call_id })), { id });
}

async function functionPage(name, signal) {
  const enc = encodeURIComponent(name);
  const [info, { revisions }, { calls }] = await Promise.all([
    get('/v1/functions/' + enc, signal), get('/v1/functions/' + enc + '/revisions', signal),
    get('/v1/calls?limit=20&function=' + enc, signal)]);
  const result = h('div', { id: 'invoke-result' });
  const revRows = revisions.slice().reverse().map((r) => {
    const current = r.revision === info.revision;
    const btn = current ? h('span', { class: 'muted' }, 'current') : h('button', {
      type: 'button', class: 'rollback', 'data-revision': r.revision,
      onclick: async (e) => {
        e.target.disabled = true;
        try {
          await post('/v1/functions/' + enc + '/rollback', { revision: r.revision });
          render();
        } catch (err) {
          e.target.after(errorBox(err));
        }
      },
    }, 'Roll back to ' + r.revision);
    return row([String(r.revision), time(r.updated), h('code', { title: r.spec.module }, short(r.spec.module)),
      (r.spec.grants || []).join(', '), btn], { 'data-revision': r.revision });
  });
  return h('section', null,
    h('h1', null, 'Function ', name),
    h('div', { class: 'card' }, kv([
      ['Revision', String(info.revision)], ['Updated', time(info.updated)],
      ['Module', h('code', null, info.spec.module)], ['Grants', (info.spec.grants || []).join(', ') || 'none'],
      ['Limits', limitsText(info.spec.limits)], ['Isolation', info.spec.isolation || 'pooled'],
      ['Config', info.spec.config ? json(info.spec.config) : undefined],
    ])),
    h('h2', null, 'Invoke'), invokeForm(name, result), result,
    h('h2', null, 'Recent calls'),
    calls.length ? callsTable(calls, 'function-calls') : h('p', { class: 'muted' }, 'No calls yet.'),
    h('h2', null, 'Revisions'),
    table(['Revision', 'Updated', 'Module', 'Grants', ''], revRows, { id: 'revisions-table' }));
}

function invokeForm(name, result) {
  const f = {
    type: h('input', { name: 'type', value: 'wasmfaas.invoke', required: true }),
    subject: h('input', { name: 'subject', placeholder: 'optional' }),
    contentType: h('input', { name: 'datacontenttype', value: 'application/json' }),
    data: h('textarea', { name: 'data', placeholder: '{"hello": "world"}' }),
  };
  const form = h('form', { class: 'stack card', id: 'invoke-form' },
    h('label', null, 'Type', f.type), h('label', null, 'Subject', f.subject),
    h('label', null, 'Content type', f.contentType), h('label', null, 'Data', f.data),
    h('div', null, h('button', { type: 'submit', class: 'primary' }, 'Invoke')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ev = { specversion: '1.0', id: crypto.randomUUID(), source: 'wasmfaas/console', type: f.type.value.trim() };
    if (f.subject.value.trim()) ev.subject = f.subject.value.trim();
    const ct = f.contentType.value.trim();
    if (f.data.value !== '') {
      ev.datacontenttype = ct || 'text/plain';
      if (/[/+]json(;|$)/.test(ev.datacontenttype)) {
        try { ev.data = JSON.parse(f.data.value); } catch (err) {
          result.replaceChildren(errorBox('The data is not valid JSON: ' + err.message));
          return;
        }
      } else ev.data = f.data.value;
    }
    result.replaceChildren(h('p', { class: 'muted' }, 'Invoking…'));
    try {
      const { data } = await post('/v1/functions/' + encodeURIComponent(name) + '/invoke?output=info', ev, 'application/cloudevents+json');
      result.replaceChildren(h('div', { class: 'card' },
        h('p', null, status(data.status), ' ', link(data.call_id, 'calls', data.call_id), ' ', duration(data.duration_ns)),
        data.error ? errorBox(data.error.kind + ': ' + data.error.message) : null,
        data.result ? resultView(data.result) : null,
        h('details', null, h('summary', null, 'ExecutionInfo'), json(data))));
    } catch (err) {
      if (err instanceof AuthError) { view.replaceChildren(loginPage()); return; }
      result.replaceChildren(errorBox(err));
    }
  });
  return form;
}

function resultView(r) {
  let body = r.json !== undefined ? JSON.stringify(r.json, null, 2) : r.text !== undefined ? r.text : r.base64 ? '(base64) ' + r.base64 : '';
  return h('div', { class: 'result' }, h('div', { class: 'muted' }, 'Result (', r.content_type || 'no content type', ')'), h('pre', null, body));
}

// --- live call stream

function livePage(query, signal) {
  const fn = query.get('function') || '', st = query.get('status') || '';
  const fnInput = h('input', { name: 'function', value: fn, placeholder: 'any function' });
  const stSelect = h('select', { name: 'status' }, ['', 'ok', 'error', 'timeout', 'trap', 'rejected']
    .map((s) => h('option', { value: s, selected: s === st }, s || 'any status')));
  const form = h('form', { class: 'inline', id: 'live-filter' }, h('label', null, 'Function', fnInput),
    h('label', null, 'Status', stSelect), h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (fnInput.value.trim()) q.set('function', fnInput.value.trim());
    if (stSelect.value) q.set('status', stSelect.value);
    location.hash = '#/live' + (q.toString() ? '?' + q : '');
  });
  const tbody = h('tbody');
  const state = h('p', { class: 'muted', id: 'live-state' }, 'Connecting…');
  const notice = h('div', { class: 'notice', id: 'drop-notice', hidden: true });
  let dropped = 0;
  const q = new URLSearchParams();
  if (fn) q.set('function', fn);
  if (st) q.set('status', st);
  const open = () => {
    state.textContent = 'Following calls as they are logged (newest first, the last 200 kept).';
    state.dataset.open = 'true';
  };
  stream('/v1/calls/stream?' + q, open, (ev) => {
    if (ev.event === 'dropped') {
      dropped += JSON.parse(ev.data).dropped;
      notice.textContent = dropped + ' calls dropped: this page could not keep up with the stream.';
      notice.hidden = false;
      return;
    }
    let c;
    try { c = JSON.parse(ev.data); } catch (e) { return; }
    tbody.prepend(row([time(c.start), c.function, status(c.status), duration(c.duration_ns),
      (c.event && c.event.subject) || '', link(c.call_id, 'calls', c.call_id)], { 'data-call-id': c.call_id }));
    while (tbody.rows.length > 200) tbody.lastElementChild.remove();
  }, signal).then(() => {
    state.textContent = 'The server ended the stream; reload to follow again.';
    delete state.dataset.open;
  }, (err) => {
    if (signal.aborted) return;
    if (err instanceof AuthError) { view.replaceChildren(loginPage()); return; }
    state.replaceChildren(errorBox(err));
  });
  return h('section', null, h('h1', null, 'Live calls'), form, state, notice,
    h('div', { class: 'table-wrap' }, h('table', { id: 'live-table' },
      h('thead', null, h('tr', null, ['Start', 'Function', 'Status', 'Duration', 'Subject', 'Call'].map((c) => h('th', null, c)))), tbody)));
}

// --- one call

function waterfall(c) {
  const start = new Date(c.start).getTime();
  const run = (c.duration_ns || 0) / 1e6; // ms
  const evTime = c.event && c.event.time ? new Date(c.event.time).getTime() : NaN;
  const bars = [];
  let origin = start;
  if (!isNaN(evTime) && evTime <= start) {
    origin = evTime;
    bars.push({ label: 'event → start', from: 0, len: start - evTime, cls: 'wait' });
  }
  bars.push({ label: 'run (attempt ' + (c.attempt || 1) + ')', from: start - origin, len: run, cls: '' });
  const total = Math.max(bars.reduce((m, b) => Math.max(m, b.from + b.len), 0), 1e-6);
  return h('div', { class: 'waterfall card', id: 'waterfall' }, bars.map((b) => {
    const bar = h('div', { class: 'wf-bar ' + b.cls });
    bar.style.left = (100 * b.from / total) + '%';
    bar.style.width = (100 * b.len / total) + '%';
    return h('div', { class: 'wf-row' }, h('span', null, b.label), h('div', { class: 'wf-track' }, bar),
      h('span', { class: 'mono' }, duration(Math.round(b.len * 1e6))));
  }), h('p', { class: 'muted' }, 'From the event\'s time (when the sender set one) to the call\'s start and end.'));
}

async function callPage(id, signal) {
  const c = await get('/v1/calls/' + encodeURIComponent(id), signal);
  const ev = c.event || {};
  const sections = [
    h('h1', null, 'Call ', c.call_id),
    h('div', { class: 'card', id: 'call-summary' }, kv([
      ['Status', status(c.status)], ['Function', link(c.function, 'functions', c.function)],
      ['Module', h('code', null, c.module_digest)], ['Mode', c.mode], ['Start', time(c.start)],
      ['Duration', duration(c.duration_ns)], ['Attempt', String(c.attempt)],
      ['Redelivered', c.redelivered ? 'yes' : undefined], ['Memory', c.memory_bytes ? c.memory_bytes + ' bytes' : undefined],
    ])),
  ];
  if (c.error) sections.push(h('h2', null, 'Error'), h('div', { class: 'error-box', id: 'call-error' }, c.error.kind + ': ' + c.error.message));
  sections.push(h('h2', null, 'Timings'), waterfall(c));
  sections.push(h('h2', null, 'Event'), h('div', { class: 'card', id: 'call-event' }, kv([
    ['ID', ev.id], ['Source', ev.source], ['Type', ev.type],
    ['Subject', ev.subject ? link(ev.subject, 'subjects', ev.subject) : undefined],
    ['Time', ev.time], ['Content type', ev.datacontenttype],
    ...Object.entries(ev.extensions || {}).map(([k, v]) => [k, v]),
  ])));
  if (c.result) sections.push(h('h2', null, 'Result'), resultView(c.result));
  if (c.logs && c.logs.length) {
    sections.push(h('h2', null, 'Logs'), table(['Level', 'Message'], c.logs.map((l) =>
      row([l.level, h('span', { class: 'mono log-' + String(l.level).replace(/[^a-z]/g, '') }, l.message)])), { id: 'call-logs' }));
    if (c.logs_truncated) sections.push(h('p', { class: 'notice' }, 'The guest logged more than its limit; the rest was dropped.'));
  }
  if (c.emitted && c.emitted.length) {
    sections.push(h('h2', null, 'Emitted events'), h('div', { id: 'call-emitted' }, c.emitted.map((e) => json(e))));
  }
  if (c.property_changes && c.property_changes.length) {
    sections.push(h('h2', null, 'Property changes'), table(['Subject', 'Property', 'Old', 'New', 'Revision'],
      c.property_changes.map((p) => row([link(p.subject, 'subjects', p.subject), p.name,
        h('code', null, JSON.stringify(p.old_value)), h('code', null, JSON.stringify(p.value)), String(p.revision)])), { id: 'call-props' }));
  }
  if (c.kv_changes && c.kv_changes.length) {
    sections.push(h('h2', null, 'KV changes'), table(['Key', 'Change', 'Size', 'Revision'],
      c.kv_changes.map((k) => row([k.key, k.deleted ? 'deleted' : 'set', String(k.size), String(k.revision || '')])), { id: 'call-kv' }));
  }
  if (c.fields && Object.keys(c.fields).length) {
    sections.push(h('h2', null, 'Fields'), table(['Field', 'Value'],
      Object.entries(c.fields).map(([k, v]) => row([k, h('code', null, JSON.stringify(v))])), { id: 'call-fields' }));
  }
  sections.push(h('details', null, h('summary', null, 'The whole ExecutionInfo (JSON)'), json(c)));
  return h('section', { id: 'call' }, sections);
}

// --- subjects and properties

function historyTable(events, withSubject) {
  return table([withSubject ? 'Subject' : null, 'Time', 'Property', 'Old', 'New'].filter(Boolean), events.map((e) => {
    const d = e.data || {};
    const cells = [time(e.time), d.property_name || (e.propertyname || ''), h('code', null, JSON.stringify(d.old_value)),
      h('code', null, JSON.stringify(d.value))];
    if (withSubject) cells.unshift(link(e.subject, 'subjects', e.subject));
    return row(cells);
  }), { id: 'history-table' });
}

function subjectForm(value) {
  const input = h('input', { name: 'subject', value: value || '', placeholder: 'a subject, e.g. device|1', required: true });
  const form = h('form', { class: 'inline', id: 'subject-form' }, h('label', null, 'Subject', input), h('button', { type: 'submit' }, 'Show'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = route('subjects', input.value.trim());
  });
  return form;
}

async function subjectsPage(signal) {
  const { events } = await get('/v1/properties/history?limit=200', signal);
  const latest = new Map();
  for (const e of events) if (!latest.has(e.subject)) latest.set(e.subject, e.time);
  return h('section', null, h('h1', null, 'Subjects'), subjectForm(''),
    h('h2', null, 'Recently changed'),
    latest.size ? table(['Subject', 'Last change'], [...latest].map(([s, t]) => row([link(s, 'subjects', s), time(t)])), { id: 'subjects-table' })
      : h('p', { class: 'muted' }, 'No property changes kept.'),
    h('h2', null, 'Latest changes'), historyTable(events.slice(0, 50), true));
}

async function subjectPage(subject, signal) {
  const enc = encodeURIComponent(subject);
  const [props, { events }] = await Promise.all([get('/v1/subjects/' + enc + '/properties', signal),
    get('/v1/properties/history?limit=100&subject=' + enc, signal)]);
  const names = Object.keys(props.properties || {}).sort();
  const ext = Object.entries(props.extended || {});
  return h('section', null, h('h1', null, 'Subject ', subject), subjectForm(subject),
    h('h2', null, 'Properties'),
    names.length ? table(['Property', 'Value', 'Revision'], names.map((n) => row([n,
      h('code', null, JSON.stringify(props.properties[n].value)), String(props.properties[n].revision)])), { id: 'props-table' })
      : h('p', { class: 'muted' }, 'No properties.'),
    ext.length ? [h('h2', null, 'Extended properties'), table(['Name', 'Value'], ext.map(([k, v]) => row([k, v])))] : null,
    h('h2', null, 'Change history'),
    events.length ? historyTable(events, false) : h('p', { class: 'muted' }, 'No changes kept.'));
}

// --- dead letters

function replayButton(seq, out) {
  return h('button', {
    type: 'button', class: 'replay', 'data-seq': seq,
    onclick: async (e) => {
      e.target.disabled = true;
      try {
        const { data } = await post('/v1/deadletters/' + seq + '/replay', {});
        out.replaceChildren(h('p', { class: 'notice replayed' }, 'Replayed dead letter ' + data.replayed + ' as event ' + data.event_seq + '.'));
      } catch (err) {
        e.target.disabled = false;
        out.replaceChildren(errorBox(err));
      }
    },
  }, 'Replay');
}

async function deadLettersPage(signal) {
  const { deadletters } = await get('/v1/deadletters?limit=200', signal);
  const out = h('div', { id: 'replay-result' });
  return h('section', null, h('h1', null, 'Dead letters'), out,
    deadletters.length ? table(['Seq', 'Time', 'Trigger', 'Function', 'Reason', 'Error', 'Attempts', ''],
      deadletters.map((d) => row([link(String(d.seq), 'deadletters', d.seq), time(d.time), d.trigger, d.function,
        d.reason, d.error, String(d.attempts), replayButton(d.seq, out)], { 'data-seq': d.seq })), { id: 'deadletters-table' })
      : h('p', { class: 'muted' }, 'No dead letters.'));
}

async function deadLetterPage(seq, signal) {
  const d = await get('/v1/deadletters/' + encodeURIComponent(seq), signal);
  const out = h('div', { id: 'replay-result' });
  return h('section', null, h('h1', null, 'Dead letter ', String(d.seq)),
    h('div', { class: 'card', id: 'deadletter' }, kv([
      ['Trigger', d.trigger], ['Function', link(d.function, 'functions', d.function)], ['Reason', d.reason],
      ['Code', String(d.code)], ['Error', d.error], ['Attempts', String(d.attempts)], ['Stored', time(d.time)],
      ['Original', d.stream + ' #' + d.stream_seq + ' (' + d.nats_subject + ')'],
      ['Last call', d.execution ? link(d.execution.call_id, 'calls', d.execution.call_id) : undefined],
    ])),
    h('p', null, replayButton(d.seq, out)), out,
    h('h2', null, 'Event'), json(d.event));
}

// --- triggers

async function triggersPage(signal) {
  const { triggers } = await get('/v1/triggers', signal);
  return h('section', null, h('h1', null, 'Triggers'),
    triggers.length ? table(['Name', 'Function', 'Filters', 'Delivery', 'State'], triggers.map((t) => {
      const d = t.delivery || {};
      return row([t.name, link(t.function, 'functions', t.function),
        t.filters && t.filters.length ? json(t.filters) : h('span', { class: 'muted' }, 'every event'),
        [d.retries + ' retries', d.backoff ? ', ' + d.backoff + ' ' + (d.backoff_policy || '') : '', d.dead_letter ? ', to ' + d.dead_letter : ''].join(''),
        t.invalid ? h('span', { class: 'error-box' }, 'not delivered: ' + t.invalid) : 'delivered']);
    }), { id: 'triggers-table' }) : h('p', { class: 'muted' }, 'No triggers.'));
}
