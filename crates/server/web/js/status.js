// The status bar: connection, battery, pending images and the exposure in hand. It draws from
// the `status` snapshot (the event stream's first event, `lagged`, a re-read) and from the
// `exposure` and `connection` events in between; it never asks the camera anything itself.

import { byId } from "./dom.js";

const CONN_TEXT = {
  connected: "Connected",
  disconnected: "Camera disconnected",
  offline: "Offline — reconnecting…",
  unauthorized: "Not logged in",
};

const EXPOSURE_TEXT = {
  idle: "Ready",
  waiting: "Focusing…",
  exposing: "Exposing",
  processing: "Processing",
  downloading: "Downloading",
  discarding: "Discarding",
  error: "Shot failed",
};

let connState = "offline";
const listeners = new Set();

/** `fn(state)` runs when the connection state changes. */
export function onConnChange(fn) {
  listeners.add(fn);
}

export function connectionState() {
  return connState;
}

/** Sets #conn: `connected`, `disconnected`, `offline` or `unauthorized`. */
export function setConn(state, detail) {
  const conn = byId("conn");
  // Once the API has said 401, only a successful stream (a new cookie) clears it.
  conn.dataset.state = state;
  conn.textContent = CONN_TEXT[state] ?? state;
  conn.title = detail ?? CONN_TEXT[state] ?? "";
  byId("login-help").hidden = state !== "unauthorized";
  document.body.dataset.conn = state;
  if (state !== connState) {
    connState = state;
    for (const fn of listeners) fn(state);
  }
}

/** Draws a `status` snapshot (`GET …/cameras/{id}`'s `status`). */
export function showStatus(status) {
  if (!status) return;
  setConn(status.connected ? "connected" : "disconnected");
  showBattery(status.battery_percent);
  byId("pending").textContent = String(status.pending_images ?? 0);
  if (status.exposure) showExposure(status.exposure);
}

function showBattery(percent) {
  const b = byId("battery");
  if (typeof percent === "number" && percent >= 0) {
    b.textContent = `${percent} %`;
    b.dataset.level = percent <= 15 ? "low" : "ok";
  } else {
    b.textContent = "—";
    b.dataset.level = "unknown";
  }
}

/** Draws an `exposure` event (`{state, progress, detail?}`). */
export function showExposure(exposure) {
  const e = byId("exposure");
  const state = String(exposure.state ?? "idle");
  e.dataset.state = state;
  let text = EXPOSURE_TEXT[state] ?? state;
  if (state === "error" && exposure.detail) text = `Shot failed: ${exposure.detail}`;
  e.textContent = text;
  e.title = exposure.detail ?? text;
  const p = byId("exposure-progress");
  const progress = Number(exposure.progress);
  p.value = Number.isFinite(progress) ? Math.min(1, Math.max(0, progress)) : 0;
  p.dataset.active = state !== "idle" && state !== "error" ? "true" : "false";
}

/** Resets the bar for a camera whose state is not known yet. */
export function resetStatus() {
  byId("battery").textContent = "—";
  byId("pending").textContent = "0";
  showExposure({ state: "idle", progress: 0 });
}
