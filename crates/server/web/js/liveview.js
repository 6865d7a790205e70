// Live view: the MJPEG stream (`…/liveview.mjpg`) read with fetch() and drawn on #lv-canvas, and
// the AF frames (`…/liveview/info`) polled beside it.
//
// Why not <img src=…mjpg>: an <img> cannot be told to stop (the connection stays open in a hidden
// tab and counts against the browser's ~6 connections per host), says nothing about which frame
// it shows, and gives no pixels for the histogram. Here the stream is one fetch() whose
// AbortController closes it when the tab is hidden, the user pauses, or the camera changes; the
// parts of `multipart/x-mixed-replace` are cut out by their Content-Length, and each JPEG is
// decoded with createImageBitmap, never more than one at a time: a frame that arrives while one
// is decoding replaces the one waiting, so a slow machine shows fewer frames, never older ones.
//
// The server sends the newest frame again about once a second even when the camera has nothing
// new, so a stream that goes silent for STALL_MS is dead (a proxy, a sleeping laptop, a half-open
// TCP connection): a watchdog aborts that attempt and the loop opens a new one.

import { url, cameraPath, get, reportUnauthorized } from "./api.js";
import { sleep } from "./dom.js";

const INFO_EVERY_MS = 250;
const MAX_BACKOFF_MS = 8000;
/** No part for this long while playing: the stream is reopened. */
const STALL_MS = 4000;
/** The first part may take longer (the camera starting its live view). */
const FIRST_PART_MS = 15000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class LiveView {
  /**
   * `hooks.frame(bitmap, number)` after a frame is drawn (the bitmap is closed after it
   * returns), `hooks.info(info)` with each `liveview/info`, `hooks.state(state)` on a change.
   */
  constructor(canvas, container, hooks) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { alpha: false });
    this.container = container;
    this.hooks = hooks;
    this.cameraId = null;
    this.userPaused = false;
    this.controller = null; // the running stream's, null when none runs
    this.lastNumber = 0;
    this.decoding = false;
    this.waiting = null; // {bytes, number}: the newest frame not yet decoded
    this.infoTimer = 0;
    this.infoBusy = false;
    this.generation = 0; // bumps on every stop, so late results of an old stream are dropped
    document.addEventListener("visibilitychange", () => this.update());
  }

  /** Shows camera `id` (null: none). */
  setCamera(id) {
    this.stop();
    this.cameraId = id;
    this.lastNumber = 0;
    this.container.dataset.frame = "0";
    this.ctx.fillStyle = "#000";
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.update();
  }

  /** Pauses or resumes at the user's wish. */
  setUserPaused(paused) {
    this.userPaused = paused;
    this.update();
  }

  get paused() {
    return this.userPaused || document.visibilityState === "hidden";
  }

  /** Starts or stops the stream to match what is wanted now. */
  update() {
    if (!this.cameraId) {
      this.stop();
      this.setState("unavailable");
    } else if (this.paused) {
      this.stop();
      this.setState("paused");
    } else if (!this.controller) {
      this.setState(this.lastNumber ? "playing" : "unavailable");
      this.run();
    }
  }

  stop() {
    this.generation += 1;
    this.controller?.abort();
    this.controller = null;
    this.waiting = null;
    clearInterval(this.infoTimer);
    this.infoTimer = 0;
  }

  setState(state) {
    if (this.container.dataset.state === state) return;
    this.container.dataset.state = state;
    this.hooks.state?.(state);
  }

  /** The stream, reopened with back-off for as long as it is wanted. */
  async run() {
    const controller = new AbortController();
    this.controller = controller;
    const gen = this.generation;
    const id = this.cameraId;
    let backoff = 500;
    while (!controller.signal.aborted) {
      let gotFrame = false;
      // One attempt's own abort: the watchdog ends it without ending the loop.
      const attempt = new AbortController();
      const endAttempt = () => attempt.abort();
      controller.signal.addEventListener("abort", endAttempt, { once: true });
      let watchdog = 0;
      const feed = (ms = STALL_MS) => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          this.container.dataset.stalls = String(Number(this.container.dataset.stalls ?? 0) + 1);
          attempt.abort();
        }, ms);
      };
      try {
        feed(FIRST_PART_MS);
        const reply = await fetch(url(cameraPath(id, "/liveview.mjpg")), {
          signal: attempt.signal,
          cache: "no-store",
          credentials: "same-origin",
        });
        if (reply.status === 401) reportUnauthorized();
        const boundary = boundaryOf(reply.headers.get("Content-Type"));
        if (!reply.ok || !reply.body || !boundary) {
          reply.body?.cancel().catch(() => {});
        } else {
          this.startInfo(gen, id);
          await readParts(reply.body, boundary, attempt.signal, (headers, bytes) => {
            if (gen !== this.generation) return;
            feed();
            gotFrame = true;
            backoff = 500;
            this.offer(bytes, Number(headers.get("x-frame-number") ?? 0), gen);
          });
        }
      } catch (e) {
        // A network failure or the watchdog: retried below like a refusal.
      } finally {
        clearTimeout(watchdog);
        controller.signal.removeEventListener("abort", endAttempt);
      }
      if (controller.signal.aborted) return;
      if (!gotFrame) this.setState("unavailable");
      clearInterval(this.infoTimer);
      this.infoTimer = 0;
      await sleep(backoff, controller.signal);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  /** A frame arrived: decode it unless it is the one shown (the server's keep-alive repeat). */
  offer(bytes, number, gen) {
    if (number && number === this.lastNumber) {
      this.setState("playing");
      return;
    }
    this.waiting = { bytes, number };
    if (!this.decoding) this.decodeNext(gen);
  }

  async decodeNext(gen) {
    while (this.waiting && gen === this.generation) {
      const { bytes, number } = this.waiting;
      this.waiting = null;
      this.decoding = true;
      let bitmap = null;
      try {
        bitmap = await createImageBitmap(new Blob([bytes], { type: "image/jpeg" }));
      } catch {
        bitmap = null; // a damaged frame: the next one will do
      }
      this.decoding = false;
      if (!bitmap) continue;
      if (gen !== this.generation) {
        bitmap.close();
        return;
      }
      this.draw(bitmap, number);
      bitmap.close();
    }
  }

  draw(bitmap, number) {
    if (this.canvas.width !== bitmap.width || this.canvas.height !== bitmap.height) {
      // The API's space is 640×480; a body that sends another size is scaled into it.
      this.ctx.drawImage(bitmap, 0, 0, this.canvas.width, this.canvas.height);
    } else {
      this.ctx.drawImage(bitmap, 0, 0);
    }
    this.lastNumber = number;
    this.container.dataset.frame = String(number);
    this.setState("playing");
    try {
      this.hooks.frame?.(bitmap, number);
    } catch (e) {
      console.warn("a live-view frame was not handled:", e);
    }
  }

  /** Polls the AF frames while the stream runs: short requests, never a third stream. */
  startInfo(gen, id) {
    clearInterval(this.infoTimer);
    this.infoTimer = setInterval(async () => {
      if (this.infoBusy || gen !== this.generation) return;
      this.infoBusy = true;
      try {
        const info = await get(cameraPath(id, "/liveview/info"));
        if (gen === this.generation) this.hooks.info?.(info);
      } catch {
        // Live view's own state already says when it is not there; no message per poll.
      } finally {
        this.infoBusy = false;
      }
    }, INFO_EVERY_MS);
  }
}

/** The boundary named in a `multipart/x-mixed-replace` Content-Type, or null. */
export function boundaryOf(contentType) {
  if (!contentType || !/^multipart\//i.test(contentType)) return null;
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : null;
}

/**
 * Reads `body` as multipart parts, calling `onPart(headers, bytes)` for each. A part is cut by
 * its Content-Length when it has one (the JPEG may hold anything), else at the next delimiter.
 */
export async function readParts(body, boundary, signal, onPart) {
  const reader = body.getReader();
  const cancel = () => reader.cancel().catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  try {
    await readAll(reader, boundary, signal, onPart);
  } finally {
    signal.removeEventListener("abort", cancel);
  }
}

async function readAll(reader, boundary, signal, onPart) {
  const delim = encoder.encode(`--${boundary}`);
  let buf = new Uint8Array(0);
  for (;;) {
    const { value, done } = await reader.read();
    if (done || signal.aborted) return;
    buf = concat(buf, value);
    for (;;) {
      const start = indexOf(buf, delim, 0);
      if (start < 0) {
        // Keep a tail that could be the start of a delimiter.
        if (buf.length > delim.length) buf = buf.slice(buf.length - delim.length);
        break;
      }
      const headEnd = indexOf(buf, CRLFCRLF, start);
      if (headEnd < 0) break;
      const headers = parseHeaders(decoder.decode(buf.subarray(start + delim.length, headEnd)));
      const bodyStart = headEnd + 4;
      const length = Number.parseInt(headers.get("content-length") ?? "", 10);
      let part;
      if (Number.isFinite(length) && length >= 0) {
        if (buf.length < bodyStart + length) break;
        part = buf.slice(bodyStart, bodyStart + length);
        buf = buf.slice(bodyStart + length);
      } else {
        const next = indexOf(buf, delim, bodyStart);
        if (next < 0) break;
        part = buf.slice(bodyStart, Math.max(bodyStart, next - 2));
        buf = buf.slice(next);
      }
      onPart(headers, part);
    }
  }
}

const CRLFCRLF = encoder.encode("\r\n\r\n");

function parseHeaders(text) {
  const headers = new Map();
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

function concat(a, b) {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function indexOf(hay, needle, from) {
  const first = needle[0];
  const last = hay.length - needle.length;
  outer: for (let i = hay.indexOf(first, from); i !== -1 && i <= last; i = hay.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
