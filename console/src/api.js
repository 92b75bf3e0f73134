// The console's only way to the server: the VIAS API with the IAM token of the signed-in user,
// kept in sessionStorage (gone when the tab closes). Every call goes through `api()`.

const KEY = 'vigil.session';

/** The signed-in session: {token, projectId, projectName, user, expiresAt} or null. */
export function session() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    if (s && Date.parse(s.expiresAt) > Date.now()) return s;
  } catch (_) { /* a damaged entry means signed out */ }
  return null;
}

export function signOut() {
  sessionStorage.removeItem(KEY);
  location.hash = '#/login';
}

/** IAM password sign-in scoped to a project (by name); stores the session. */
export async function signIn(user, password, project) {
  const res = await fetch('/v3/auth/tokens', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: user, password } } },
        scope: { project: { name: project } },
      },
    }),
  });
  const body = await res.json().catch(() => ({}));
  if (res.status !== 201) {
    throw new ApiError(res.status, body?.error?.code || '', body?.error?.message || `sign-in failed (${res.status})`, body);
  }
  const t = body.token;
  const s = {
    token: res.headers.get('X-Subject-Token'),
    projectId: t.project.id,
    projectName: t.project.name,
    user: t.user.name,
    expiresAt: t.expires_at,
  };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
}

/** An API error: `code` is the VIAS error code, `params` the field names it is about. */
export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
    // VIAS errors carry the offending field(s) in `params` (a list, or a comma-joined string).
    const p = body?.params ?? body?.error_params ?? [];
    this.params = Array.isArray(p) ? p : String(p).split(',').filter(Boolean);
  }
  /** The message for one field, when the error is about it (form fields show it beside them). */
  forField(name) {
    return this.params.includes(name) ? this.message : null;
  }
}

/**
 * One API call. `path` is relative to the project (`/source/sources`) unless it starts with `/v<digits>/`
 * (`/v3/...`). Returns parsed JSON (or null for empty bodies). Signs out on 401.
 */
export async function api(method, path, body, { raw = false, signal } = {}) {
  const s = session();
  if (!s) {
    signOut();
    throw new ApiError(401, 'APIGW.0301', 'signed out');
  }
  // Absolute only for versioned roots (`/v3/…`): `/vigil/…` is a project route too.
  const url = /^\/v\d+\//.test(path) ? path : `/v2/${s.projectId}${path}`;
  const res = await fetch(url, {
    method,
    signal,
    headers: {
      'X-Auth-Token': s.token,
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  if (res.status === 401) {
    signOut();
    throw new ApiError(401, 'APIGW.0301', 'session expired; sign in again');
  }
  if (raw) {
    if (!res.ok) throw new ApiError(res.status, '', `${method} ${url}: ${res.status}`);
    return res;
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (_) { json = { error_msg: text }; }
  if (!res.ok) {
    const code = json?.error_code || json?.error?.code || '';
    // Shape A: `detail` says what is wrong with the field(s) in `params`; `error_msg` is generic.
    const msg = json?.detail || json?.error_msg || json?.error_message || json?.error?.message || `${method} ${url}: ${res.status}`;
    throw new ApiError(res.status, code, msg, json);
  }
  return json;
}

/** An object URL for an authenticated image (img tags cannot send the token); null on 404. */
export async function imageUrl(path, signal) {
  try {
    const res = await api('GET', path, undefined, { raw: true, signal });
    return URL.createObjectURL(await res.blob());
  } catch (e) {
    if (e.status === 404 || e.name === 'AbortError') return null;
    throw e;
  }
}
