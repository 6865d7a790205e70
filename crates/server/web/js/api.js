// The page's only way to the server: the public JSON API under /api/v1. Every failure becomes an
// `ApiError` carrying the API's own `message`, so callers show what the server said; a 401 also
// tells whoever listens (the status bar shows #login-help) because no retry can fix it.

const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

const unauthorizedListeners = new Set();

/** `fn()` runs whenever the API answers 401. */
export function onUnauthorized(fn) {
  unauthorizedListeners.add(fn);
}

/** Tells the 401 listeners; also used by streams that see a 401 without going through `call`. */
export function reportUnauthorized() {
  for (const fn of unauthorizedListeners) fn();
}

/** The URL of `path` under the API (path segments already encoded by the caller). */
export function url(path) {
  return `${BASE}${path}`;
}

/** The path of camera `id` (ids are the server's, still encoded: they come from a camera). */
export function cameraPath(id, rest = "") {
  return `/cameras/${encodeURIComponent(id)}${rest}`;
}

/**
 * One API request. `body` is sent as JSON: an object is serialised, a string is sent as it is
 * (so raw property values keep every digit). Answers the parsed JSON (null for an empty body).
 */
export async function call(method, path, { body, signal } = {}) {
  const init = { method, signal, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  let reply;
  try {
    reply = await fetch(url(path), init);
  } catch (e) {
    if (e?.name === "AbortError") throw e;
    throw new ApiError(0, "offline", "The server cannot be reached.", null);
  }
  const text = await reply.text().catch(() => "");
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (!reply.ok) {
    const err = json?.error;
    if (reply.status === 401) reportUnauthorized();
    throw new ApiError(
      reply.status,
      err?.code ?? `http_${reply.status}`,
      err?.message ?? `The server answered ${reply.status} ${reply.statusText}.`,
      json,
    );
  }
  return json;
}

export const get = (path, opts) => call("GET", path, opts);
export const post = (path, body, opts) => call("POST", path, { ...opts, body: body ?? {} });
export const put = (path, body, opts) => call("PUT", path, { ...opts, body });
export const del = (path, opts) => call("DELETE", path, opts);
