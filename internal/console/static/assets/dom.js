// dom.js builds the pages' DOM. Every value is inserted as text (a text
// node or an attribute), never parsed as HTML: the console shows what
// events and guests wrote, and they may write markup.

// h creates an element: h('a', {href: '#/x', class: 'y'}, 'text', child…).
// Attributes starting with "on" are event listeners; null, undefined and
// false attributes and children are skipped; arrays of children are
// flattened.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// link is an anchor to a console route: its path segments are encoded.
export function link(text, ...segments) {
  return h('a', { href: route(...segments) }, text);
}

// route is the hash of a console page from its path segments.
export function route(...segments) {
  return '#/' + segments.map((s) => encodeURIComponent(String(s))).join('/');
}

// table builds a table from a header and rows of cells (text or nodes),
// wrapped so it scrolls sideways on a narrow screen instead of the page.
export function table(header, rows, attrs) {
  return h('div', { class: 'table-wrap' },
    h('table', attrs, h('thead', null, h('tr', null, header.map((c) => h('th', null, c)))),
      h('tbody', null, rows)));
}

// row is a table row; attrs may carry data-* attributes for tests and styles.
export function row(cells, attrs) {
  return h('tr', attrs, cells.map((c) => h('td', null, c)));
}

// json shows a value as indented JSON, as text.
export function json(v) {
  return h('pre', { class: 'json' }, JSON.stringify(v, null, 2));
}

// kv is a definition list of [name, value] pairs, skipping undefined values.
export function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

export function status(s) {
  return h('span', { class: 'status status-' + String(s).replace(/[^a-z]/g, '') }, s);
}

export function errorBox(err) {
  return h('div', { class: 'error-box', role: 'alert' }, String(err && err.message ? err.message : err));
}

// duration renders nanoseconds in a human unit.
export function duration(ns) {
  if (typeof ns !== 'number' || !isFinite(ns)) return '';
  if (ns < 1e3) return ns + 'ns';
  if (ns < 1e6) return (ns / 1e3).toFixed(ns < 1e4 ? 2 : 1) + 'µs';
  if (ns < 1e9) return (ns / 1e6).toFixed(ns < 1e7 ? 2 : 1) + 'ms';
  return (ns / 1e9).toFixed(2) + 's';
}

export function time(s) {
  if (!s) return '';
  const d = new Date(s);
  return isNaN(d) ? String(s) : d.toLocaleString();
}

export function short(digest) {
  const s = String(digest || '');
  const hex = s.includes(':') ? s.slice(s.indexOf(':') + 1) : s;
  return hex.slice(0, 12);
}
