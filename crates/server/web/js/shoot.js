// The shooting panel: half-press, shutter, bulb, burst, interval shooting, manual focus, movie
// and release-all, and the running job (#job) with its progress, countdown and stop.
//
// A job's state comes from `job` events (`{job, state, progress}`); the bulb countdown runs on
// a local timer between them and is corrected by each event's progress, so it ticks every
// second without the server sending anything (and not at all in a hidden tab). Replies (the
// POST that started a job, a job read) can arrive after the job's own events: they add what
// the events lack (kind, length, count) but never take its state back.
//
// Whether the camera records a movie is its `movie` property (0xD21D): read with the list and
// followed through `property` events, so a reloaded tab shows a recording and can stop it.

import { byId } from "./dom.js";
import { cameraPath, get, post, del } from "./api.js";
import { act, say } from "./messages.js";

const JOB_TEXT = {
  queued: "Queued",
  running: "Running",
  done: "Done",
  stopped: "Stopped",
  aborted: "Aborted",
  failed: "Failed",
};

export class Shoot {
  constructor() {
    this.cameraId = null;
    this.job = null; // {id, kind, state, progress, length?, count?, startedAt, events}
    this.tick = 0;
    this.recording = false;
    this.movieReads = 0;
    this.exposure = "idle";
    document.addEventListener("visibilitychange", () => this.showJob());

    const on = (id, fn) => byId(id).addEventListener("click", () => fn(byId(id)));
    on("btn-af", (b) => this.af(b));
    on("btn-shutter", (b) => this.shutter(b));
    on("btn-bulb", (b) => this.bulb(b));
    on("btn-burst", (b) => this.burst(b));
    on("btn-interval", (b) => this.interval(b));
    on("btn-job-stop", (b) => this.stopJob(b));
    on("btn-movie", (b) => this.movie(b));
    on("btn-release", (b) => this.release(b));
    for (const dir of ["near", "far"]) {
      for (const size of [1, 3, 7]) on(`focus-${dir}-${size}`, (b) => this.focus(b, dir, size));
    }
  }

  setCamera(id) {
    this.cameraId = id;
    this.job = null;
    this.recording = false;
    this.showMovie();
    this.showJob();
  }

  path(rest) {
    return cameraPath(this.cameraId, rest);
  }

  /** Half-press: autofocus, then tell what it found. */
  af(button) {
    return act(button, async () => {
      const r = await post(this.path("/af"), {});
      if (r?.focus && r.focus !== "focused") say(`Autofocus: ${String(r.focus).replace("_", " ")}`, "info");
    });
  }

  shutter(button) {
    return act(button, () => post(this.path("/capture"), {}));
  }

  bulb(button) {
    const s = this.seconds("bulb-seconds", 1);
    if (s === null) return undefined;
    return this.startJob(button, { bulb: `${s}s` }, { kind: "bulb", length: s });
  }

  burst(button) {
    const s = this.seconds("burst-count", 1);
    if (s === null) return undefined;
    return this.startJob(button, { burst: `${s}s` }, { kind: "burst", length: s });
  }

  interval(button) {
    const count = this.seconds("interval-count", 1);
    const every = this.seconds("interval-seconds", 0);
    if (count === null || every === null) return undefined;
    return this.startJob(button, { count, interval: `${every}s` }, { kind: "timelapse", count });
  }

  /** A whole number from input `id`, at least `min`; null (and a message) when it is not. */
  seconds(id, min) {
    const input = byId(id);
    const n = Number(input.value);
    if (!Number.isInteger(n) || n < min || (input.max && n > Number(input.max))) {
      say(`${input.closest("label")?.textContent?.trim() ?? id}: a whole number from ${min}${input.max ? ` to ${input.max}` : ""}, please.`);
      input.focus();
      return null;
    }
    return n;
  }

  startJob(button, body, plan) {
    return act(button, async () => {
      const r = await post(this.path("/capture"), body);
      if (r?.job === undefined) return;
      if (this.job?.id === r.job) {
        // Its events came first: they know where it stands; this adds what it is.
        Object.assign(this.job, plan);
      } else {
        this.job = { id: r.job, state: "queued", progress: 0, startedAt: performance.now(), events: 0, ...plan };
      }
      this.showJob();
    });
  }

  stopJob(button) {
    const job = this.job;
    if (!job) return undefined;
    const since = job.events;
    return act(button, async () => {
      const r = await del(this.path(`/jobs/${encodeURIComponent(job.id)}`));
      if (r && this.job?.id === job.id) this.applySummary(r, since);
    });
  }

  focus(button, direction, size) {
    return act(button, () => post(this.path("/focus"), { direction, size, steps: 1 }));
  }

  movie(button) {
    const read = ++this.movieReads;
    return act(button, async () => {
      const r = await post(this.path("/movie"), { record: !this.recording });
      if (typeof r?.recording === "boolean" && read === this.movieReads) this.recording = r.recording;
      this.showMovie();
    });
  }

  /**
   * The `movie` property (from the list or an event): raw 0 is not recording, anything else
   * recording (the Sony layer's MOVIE_STATE; the display text is for people).
   */
  onMovie(raw) {
    const n = Number(raw);
    if (!Number.isFinite(n)) return;
    this.movieReads += 1; // an older reply does not undo what the camera says now
    this.recording = n !== 0;
    this.showMovie();
  }

  release(button) {
    return act(button, async () => {
      const r = await post(this.path("/release"), {});
      const jobs = r?.stopped_jobs?.length ?? 0;
      const shots = r?.stopped_shots ?? 0;
      if (jobs || shots) say(`Released: ${jobs} job(s) and ${shots} shot(s) stopped.`, "info");
    });
  }

  showMovie() {
    const b = byId("btn-movie");
    b.setAttribute("aria-pressed", String(this.recording));
    b.querySelector(".movie-label").textContent = this.recording ? "Stop recording" : "Record movie";
  }

  /**
   * An `exposure` event: a bulb's countdown starts when the shutter opens (not when the job
   * starts: focusing comes first) and is re-based on each progress the camera reports.
   */
  onExposure(ev) {
    this.exposure = String(ev?.state ?? "idle");
    const job = this.job;
    if (job?.kind === "bulb" && !job.length && this.exposure === "exposing") this.learnLength(job, ev);
    if (!job || job.kind !== "bulb" || !job.length) return;
    if (this.exposure === "exposing") {
      const progress = Number(ev.progress) || 0;
      job.startedAt = performance.now() - progress * job.length * 1000;
      job.exposing = true;
      job.opened = true;
    } else {
      job.exposing = false;
    }
    this.writeJobText();
  }

  /**
   * Another tab's (or a script's) bulb: the API does not say its length, but the exposure's
   * progress (elapsed over length) at two moments does.
   */
  learnLength(job, ev) {
    const p = Number(ev.progress);
    const t = performance.now();
    if (!(p > 0 && p < 1)) return;
    const first = job.sample;
    if (!first) {
      job.sample = { t, p };
      return;
    }
    if (p - first.p < 0.02 || t - first.t < 500) return;
    const seconds = Math.round((t - first.t) / 1000 / (p - first.p));
    if (seconds >= 1) {
      job.length = seconds;
      this.showJob();
    }
  }

  /** A `job` event. A job this page did not start (another tab, a script) is shown too. */
  onJob(ev) {
    if (!this.job || this.job.id !== ev.job) {
      // Only a job that is going takes the panel over; an old one's late news does not.
      if (ev.state !== "queued" && ev.state !== "running") return;
      this.job = { id: ev.job, kind: "job", startedAt: performance.now() };
      this.fetchJob(ev.job);
    }
    this.job.state = ev.state;
    this.job.progress = Number(ev.progress) || 0;
    this.job.events = (this.job.events ?? 0) + 1;
    this.showJob();
  }

  /** Learns kind and size of a job this page did not start. */
  async fetchJob(id) {
    const since = this.job?.id === id ? this.job.events ?? 0 : 0;
    try {
      const j = await get(this.path(`/jobs/${encodeURIComponent(id)}`));
      if (this.job?.id === id) this.applySummary(j, since);
    } catch {
      // It shows as a plain job.
    }
  }

  /**
   * A job as the API lists it, read when `since` job events had arrived: its state and
   * progress count only when no event came after the read started.
   */
  applySummary(j, since) {
    if (!this.job || !j) return;
    this.job.kind = j.kind ?? this.job.kind;
    if (j.count) this.job.count = j.count;
    if ((this.job.events ?? 0) === since) {
      this.job.state = j.state ?? this.job.state;
      this.job.progress = Number(j.progress) || 0;
    }
    this.showJob();
  }

  /** After a (re)connect: the newest job still going, if any. */
  async refresh() {
    const id = this.cameraId;
    const before = this.job;
    const since = before?.events ?? 0;
    try {
      const r = await get(this.path("/jobs"));
      if (id !== this.cameraId) return;
      const live = (r?.jobs ?? []).find((j) => j.state === "queued" || j.state === "running");
      if (this.job !== before) return; // events brought another job meanwhile: they are newer
      if (live) {
        if (this.job?.id !== live.job) this.job = { id: live.job, startedAt: performance.now(), events: 0 };
        this.applySummary(live, this.job === before ? since : 0);
      } else if (this.job && (this.job.state === "queued" || this.job.state === "running")) {
        // It ended while the stream was down.
        const mine = (r?.jobs ?? []).find((j) => j.job === this.job.id);
        if (mine) this.applySummary(mine, since);
      }
    } catch {
      // The stream's state tells of a lost server.
    }
  }

  showJob() {
    const box = byId("job");
    const job = this.job;
    clearInterval(this.tick);
    this.tick = 0;
    if (!job) {
      box.hidden = true;
      box.dataset.state = "none";
      return;
    }
    box.hidden = false;
    box.dataset.state = job.state ?? "queued";
    box.dataset.kind = job.kind ?? "job";
    const going = job.state === "queued" || job.state === "running";
    byId("btn-job-stop").disabled = !going;
    const progress = byId("job-progress");
    progress.value = Math.max(0, Math.min(1, job.state === "done" ? 1 : Number(job.progress) || 0));
    this.writeJobText();
    // The countdown ticks only where someone can see it; showing the tab again redraws.
    if (going && job.kind === "bulb" && job.length && document.visibilityState !== "hidden") {
      this.tick = setInterval(() => this.writeJobText(), 250);
    }
  }

  writeJobText() {
    const job = this.job;
    if (!job) return;
    const state = JOB_TEXT[job.state] ?? String(job.state ?? "");
    const going = job.state === "queued" || job.state === "running";
    let text;
    if (job.kind === "bulb") {
      if (going && job.length && job.exposing) {
        const elapsed = (performance.now() - job.startedAt) / 1000;
        const left = Math.max(0, Math.ceil(job.length - elapsed));
        text = `Bulb — ${left} s left`;
        byId("job-progress").value = Math.min(0.99, Math.max(0, elapsed / job.length));
      } else if (going) {
        const phase = { waiting: "focusing", processing: "processing", downloading: "downloading" };
        let now = phase[this.exposure] ?? (job.opened ? "saving" : "starting");
        if (job.state === "queued") now = "queued";
        text = `Bulb${job.length ? ` ${job.length} s` : ""} — ${now}`;
      } else {
        text = `Bulb — ${state.toLowerCase()}`;
      }
    } else if (job.kind === "timelapse") {
      const count = job.count ?? 0;
      const shots = count ? Math.round((Number(job.progress) || 0) * count) : 0;
      text = count ? `Interval — shot ${shots} of ${count}` : "Interval";
      if (!going) text += ` — ${state.toLowerCase()}`;
    } else if (job.kind === "burst") {
      text = going ? `Burst — ${Math.round((Number(job.progress) || 0) * 100)} %` : `Burst — ${state.toLowerCase()}`;
    } else {
      text = `Job ${job.id} — ${state.toLowerCase()}`;
    }
    byId("job-text").textContent = text;
  }
}
