// The selected camera's event stream (`GET …/events`, Server-Sent Events): one of the page's two
// long-lived connections. The browser's EventSource reconnects by itself after a network error;
// when the server answers with an error instead (401, 503 `too_many_streams`, a camera that went
// away) it gives up, so this reopens it with back-off. Every (re)open calls `onOpen`, where the
// page re-reads everything: events missed while the stream was down are not replayed.
//
// A stream can also die without a word (a half-open connection after a laptop slept, a proxy):
// the server's keep-alives are comments, which EventSource does not show. So after SILENT_MS
// without an event the page asks `GET …/cameras/{id}`; if the server answers, the silent
// stream is replaced by a new one (whose open re-reads everything); if not, the server is gone
// and the stream's own error handling goes on. An idle camera costs one small request and a
// reopen every SILENT_MS; a dead stream is found within about that time. (The browser tests
// shorten SILENT_MS: `timing("silentMs")`.)

import { url, cameraPath, get, ApiError } from "./api.js";
import { timing } from "./dom.js";

const NAMES = ["status", "property", "image", "exposure", "connection", "job", "lagged"];
const SILENT_MS = 40000;
const CHECK_EVERY_MS = 5000;

export class EventFeed {
  /**
   * `handlers`: `onOpen()`, `onDown()`, `onUnauthorized()`, and one function per event name
   * (`status`, `property`, …) given the event's parsed data.
   */
  constructor(cameraId, handlers) {
    this.cameraId = cameraId;
    this.handlers = handlers;
    this.source = null;
    this.retryTimer = 0;
    this.backoff = 1000;
    this.stopped = false;
    this.heard = performance.now();
    this.checking = false;
    this.watchdog = 0;
  }

  start() {
    this.stopped = false;
    this.open();
    clearInterval(this.watchdog);
    // A shortened silence (tests) is checked often enough to be seen soon after it.
    const every = Math.min(CHECK_EVERY_MS, Math.max(50, timing("silentMs", SILENT_MS) / 4));
    this.watchdog = setInterval(() => this.checkSilence(), every);
  }

  /** After SILENT_MS without an event on an open stream: is the server there? Then reopen. */
  async checkSilence() {
    const source = this.source;
    if (this.stopped || this.checking || !source || source.readyState !== EventSource.OPEN) return;
    if (performance.now() - this.heard < timing("silentMs", SILENT_MS)) return;
    this.checking = true;
    try {
      await get(cameraPath(this.cameraId));
      if (this.stopped || this.source !== source) return;
      source.close();
      this.source = null;
      this.open();
    } catch {
      // Not answering: the stream's errors take it from here.
    } finally {
      this.heard = performance.now();
      this.checking = false;
    }
  }

  /** Closes the stream for good (switching cameras, leaving). */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.watchdog);
    this.source?.close();
    this.source = null;
  }

  open() {
    if (this.stopped) return;
    const source = new EventSource(url(cameraPath(this.cameraId, "/events")));
    this.source = source;
    this.heard = performance.now();
    source.onopen = () => {
      this.heard = performance.now();
      this.backoff = 1000;
      this.handlers.onOpen?.();
    };
    source.onerror = () => {
      if (this.stopped || this.source !== source) return;
      this.handlers.onDown?.();
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        this.source = null;
        this.retry();
      }
      // CONNECTING: the browser is already trying again.
    };
    for (const name of NAMES) {
      source.addEventListener(name, (ev) => {
        if (this.source !== source) return;
        this.heard = performance.now();
        let data;
        try {
          data = JSON.parse(ev.data);
        } catch {
          return; // not ours to guess at
        }
        try {
          this.handlers[name]?.(data);
        } catch (e) {
          // A handler's bug must not take the stream down with it.
          console.warn(`the ${name} event was not handled:`, e);
        }
      });
    }
  }

  /** Reopens after a refusal, asking a short request first whether the refusal was a 401. */
  retry() {
    clearTimeout(this.retryTimer);
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, 15000);
    this.retryTimer = setTimeout(async () => {
      if (this.stopped) return;
      try {
        await get(cameraPath(this.cameraId));
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          this.handlers.onUnauthorized?.();
          // Keep asking now and then: a login in another tab sets the cookie for this one too.
          this.backoff = 5000;
          this.retry();
          return;
        }
      }
      this.open();
    }, wait);
  }
}
