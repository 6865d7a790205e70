// Small DOM helpers. Camera strings (models, property texts, file names) are untrusted: they only
// ever go into `textContent` and attributes, never into HTML.

/** The element with `id`; the page's ids are fixed, so a missing one is a bug in index.html. */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
}

/** A new element with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = String(v);
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) node.append(c);
  return node;
}

/** True when keys typed now belong to a field rather than to the page's shortcuts. */
export function typingIn(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement) return true;
  if (target instanceof HTMLInputElement) {
    return !["button", "checkbox", "radio", "submit", "reset", "range"].includes(target.type);
  }
  return false;
}

/** `fn` run at most once per `ms`, after the last call (trailing debounce). */
export function debounce(fn, ms) {
  let timer = 0;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** Resolves after `ms`, or at once when `signal` aborts (its listener goes either way). */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Sizes `canvas`'s pixels to its shown box times the screen's pixel ratio, so what is drawn is
 * sharp on any screen; true when the size changed (the canvas was cleared).
 */
export function fitToBox(canvas) {
  const r = canvas.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(r.width * dpr));
  const h = Math.max(1, Math.round(r.height * dpr));
  if (canvas.width === w && canvas.height === h) return false;
  canvas.width = w;
  canvas.height = h;
  return true;
}

/**
 * A waiting time the browser tests may change: `window.__sonyctlTimings[name]` when it is a
 * positive number, else `fallback`. Only a script of the page's own origin can set it (a test's
 * init script); the Content-Security-Policy runs no other, and an element named so by a camera
 * string would not be a number. Read at each use, so a test may change it on a loaded page.
 */
export function timing(name, fallback) {
  const v = window.__sonyctlTimings?.[name];
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : fallback;
}
