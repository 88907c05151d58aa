// api.js talks to the JSON API, the same one the CLI uses. The bearer
// token, when the server wants one, is kept in sessionStorage (this tab,
// until it closes) and sent as "Authorization: Bearer"; never in a URL.
// State-changing calls are fetch requests with a JSON body and a custom
// header: a plain cross-site form cannot send either, and the server
// refuses cross-site requests by their Origin and Sec-Fetch-Site anyway.

const tokenKey = 'wasmfaas.token';

export function token() {
  return sessionStorage.getItem(tokenKey) || '';
}

export function setToken(t) {
  if (t) sessionStorage.setItem(tokenKey, t);
  else sessionStorage.removeItem(tokenKey);
}

// AuthError: the server wants a (different) token.
export class AuthError extends Error {}

// APIError carries the API's {"error": {"code", "message"}}.
export class APIError extends Error {
  constructor(status, code, message) {
    super(message + ' (' + status + (code ? ' ' + code : '') + ')');
    this.status = status;
    this.code = code;
  }
}

function headers(extra) {
  const h = Object.assign({ 'Wasmfaas-Client': 'console' }, extra || {});
  const t = token();
  if (t) h.Authorization = 'Bearer ' + t;
  return h;
}

async function failure(resp) {
  if (resp.status === 401) return new AuthError('the server wants a token');
  let code = '', message = resp.statusText;
  try {
    const body = await resp.json();
    if (body && body.error) ({ code, message } = body.error);
  } catch (e) { /* not JSON: keep the status text */ }
  return new APIError(resp.status, code, message);
}

// get reads a JSON resource.
export async function get(path, signal) {
  const resp = await fetch(path, { headers: headers(), cache: 'no-store', signal });
  if (!resp.ok) throw await failure(resp);
  return resp.json();
}

// post sends a JSON body (content type application/json unless given)
// and returns the JSON answer, with the response.
export async function post(path, body, contentType) {
  const resp = await fetch(path, {
    method: 'POST', cache: 'no-store',
    headers: headers({ 'Content-Type': contentType || 'application/json' }),
    body: JSON.stringify(body),
  });
  let data = null;
  const ct = resp.headers.get('Content-Type') || '';
  if (ct.includes('json')) data = await resp.json();
  if (!resp.ok && !(data && data.call_id)) {
    if (resp.status === 401) throw new AuthError('the server wants a token');
    const e = data && data.error ? data.error : { code: '', message: resp.statusText };
    throw new APIError(resp.status, e.code, e.message);
  }
  return { resp, data };
}

// stream reads server-sent events from path (GET, with the token, which
// EventSource cannot send), calls onOpen once the server answered (the
// call stream follows the log from then on) and onEvent({event, id,
// data}) for each event until signal aborts or the server ends it.
export async function stream(path, onOpen, onEvent, signal) {
  const resp = await fetch(path, { headers: headers({ Accept: 'text/event-stream' }), cache: 'no-store', signal });
  if (!resp.ok) throw await failure(resp);
  onOpen();
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const ev = { event: 'message', id: '', data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) ev.event = line.slice(7);
        else if (line.startsWith('id: ')) ev.id = line.slice(4);
        else if (line.startsWith('data: ')) ev.data += line.slice(6);
      }
      if (ev.data) onEvent(ev);
    }
  }
}
