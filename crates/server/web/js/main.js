// The page's entry point: picks the camera, opens its two streams (events and live view), and
// wires every panel to them. Switching cameras closes both streams before opening the new
// camera's, so the page never holds more than two long-lived connections; other cameras'
// states come from `GET /cameras` now and then.

import { byId } from "./dom.js";
import { cameraPath, get, post, onUnauthorized, ApiError } from "./api.js";
import { EventFeed } from "./events.js";
import { LiveView } from "./liveview.js";
import { Overlay } from "./overlay.js";
import { Histogram } from "./histogram.js";
import { Settings } from "./settings.js";
import { Shoot } from "./shoot.js";
import { Gallery } from "./gallery.js";
import { installKeys } from "./keys.js";
import { sayError } from "./messages.js";
import { setConn, showStatus, showExposure, resetStatus, connectionState } from "./status.js";

const CAMERAS_EVERY_MS = 10000;
const STORE = "sonyctl.page";

/**
 * What the user chose in this tab (grid, mask, histogram mode, camera), kept across a reload
 * in `sessionStorage`; a new tab starts from the defaults and the first camera.
 */
function remembered() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE) ?? "{}") ?? {};
  } catch {
    return {};
  }
}
function remember(key, value) {
  try {
    const all = remembered();
    all[key] = value;
    sessionStorage.setItem(STORE, JSON.stringify(all));
  } catch {
    // Storage may be refused; the choice then lasts until the page is left.
  }
}

const lv = byId("lv");
const histogram = new Histogram(byId("histogram"), byId("histogram-mode"));
const settings = new Settings(byId("settings"));
const shoot = new Shoot();
settings.watch("movie", (raw) => shoot.onMovie(raw));
const gallery = new Gallery();
let cameraId = null;
let feed = null;

const overlay = new Overlay({
  container: lv,
  picture: byId("lv-canvas"),
  overlay: byId("lv-overlay"),
  loupe: byId("loupe-view"),
  onPoint: (x, y) => {
    if (!cameraId) return;
    post(cameraPath(cameraId, "/focus-point"), { x, y }).catch(sayError);
  },
});

const NOTICE = {
  paused: "Live view paused",
  unavailable: "Live view unavailable — waiting for the camera",
  playing: "",
};

const live = new LiveView(byId("lv-canvas"), lv, {
  frame(bitmap, number) {
    histogram.update(bitmap, number);
    overlay.frame(overlay.clipping ? histogram.clippingMask() : null);
  },
  info(info) {
    overlay.setInfo(info);
    byId("focus-state").textContent = typeof info?.focus === "string" ? info.focus : "";
  },
  state(state) {
    byId("lv-notice").textContent = NOTICE[state] ?? "";
    if (state !== "playing") byId("focus-state").textContent = "";
  },
});

// Live-view tools.
const toggle = byId("lv-toggle");
toggle.addEventListener("click", () => {
  const paused = toggle.getAttribute("aria-pressed") !== "true";
  toggle.setAttribute("aria-pressed", String(paused));
  toggle.querySelector(".tool-label").textContent = paused ? "Paused" : "Live";
  live.setUserPaused(paused);
});
const pressToggle = (id, fn) => {
  const b = byId(id);
  b.addEventListener("click", () => {
    const on = b.getAttribute("aria-pressed") !== "true";
    b.setAttribute("aria-pressed", String(on));
    fn(on);
  });
};
pressToggle("clipping", (on) => overlay.setClipping(on));
pressToggle("loupe", (on) => overlay.setLoupe(on));
for (const [id, apply] of [
  ["grid", (v) => overlay.setGrid(v)],
  ["aspect", (v) => overlay.setAspect(v)],
  ["histogram-mode", () => {}],
]) {
  const select = byId(id);
  const saved = remembered()[id];
  if (saved && [...select.options].some((o) => o.value === saved)) select.value = saved;
  apply(select.value);
  select.addEventListener("change", () => {
    apply(select.value);
    remember(id, select.value);
  });
}
histogram.draw();

// The status re-read races the stream: a reply older than the newest read is dropped, and so is
// a reply to a read that any event carrying status (`status`, `connection`, `lagged`,
// `exposure`) overtook: that event is newer than the reply, which would undo it (a camera
// unplugged while the read was on its way shown connected again). The event's own re-read, or
// the next, brings the rest. `#statusbar`'s `data-loads` counts the replies handled.
let statusReads = 0;
let statusEvents = 0;

/** Everything the stream may have missed, read again. */
function refreshAll() {
  const id = cameraId;
  if (!id) return;
  const read = ++statusReads;
  const since = statusEvents;
  get(cameraPath(id)).then((c) => {
    if (id !== cameraId || read !== statusReads || statusEvents !== since) return;
    if (connectionState() === "unauthorized") return;
    showStatus(c?.status);
  }).catch(() => {}).finally(() => {
    const bar = byId("statusbar");
    if (id === cameraId) bar.dataset.loads = String(Number(bar.dataset.loads ?? 0) + 1);
  });
  settings.load();
  gallery.refresh();
  shoot.refresh();
}

function openFeed(id) {
  feed = new EventFeed(id, {
    onOpen: refreshAll,
    onDown: () => {
      if (connectionState() !== "unauthorized") setConn("offline");
    },
    onUnauthorized: () => setConn("unauthorized"),
    status: (st) => {
      statusEvents += 1;
      showStatus(st);
    },
    property: (p) => settings.onProperty(p),
    image: (i) => gallery.onImage(i),
    exposure: (e) => {
      statusEvents += 1;
      showExposure(e);
      shoot.onExposure(e);
    },
    connection: (c) => {
      statusEvents += 1;
      setConn(c.connected ? "connected" : "disconnected", c.error);
      if (c.connected) refreshAll();
    },
    job: (j) => shoot.onJob(j),
    lagged: (l) => {
      statusEvents += 1;
      showStatus(l.status);
      refreshAll();
    },
  });
  feed.start();
}

/** Shows camera `id` in every panel, closing the last camera's streams first. */
function selectCamera(id) {
  if (id === cameraId) return;
  feed?.stop();
  feed = null;
  cameraId = id;
  remember("camera", id);
  resetStatus();
  setConn("offline");
  overlay.clear();
  histogram.clear();
  settings.setCamera(id);
  shoot.setCamera(id);
  gallery.setCamera(id);
  live.setCamera(id);
  if (id) openFeed(id);
}

// A tab left in the background lets go of its event stream too (after a while, so that a quick
// look at another tab costs nothing): with many tabs open, streams of tabs nobody looks at
// would otherwise take the browser's few connections per host from the one in front. Coming
// back reopens it, and the open re-reads everything.
const HIDDEN_EVENTS_MS = 30000;
let hiddenTimer = 0;
document.addEventListener("visibilitychange", () => {
  clearTimeout(hiddenTimer);
  if (document.visibilityState === "hidden") {
    hiddenTimer = setTimeout(() => {
      feed?.stop();
      feed = null;
    }, HIDDEN_EVENTS_MS);
  } else if (!feed && cameraId) {
    openFeed(cameraId);
  }
});

const select = byId("camera-select");
select.addEventListener("change", () => selectCamera(select.value));

/** Fills the camera list; answers whether the server could be read. */
async function loadCameras() {
  let reply;
  try {
    reply = await get("/cameras");
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) setConn("unauthorized");
    else if (!cameraId) setConn("offline");
    return false;
  }
  const cameras = Array.isArray(reply?.cameras) ? reply.cameras : [];
  const known = new Map([...select.options].map((o) => [o.value, o]));
  const options = cameras.map((c) => {
    const id = String(c.id);
    const opt = known.get(id) ?? document.createElement("option");
    opt.value = id;
    opt.textContent = `${c.model ?? "Camera"} · ${id}${c.connected ? "" : " (disconnected)"}`;
    opt.dataset.connected = String(Boolean(c.connected));
    return opt;
  });
  const keep = cameraId;
  select.replaceChildren(...options);
  select.disabled = options.length === 0;
  if (keep && options.some((o) => o.value === keep)) {
    select.value = keep;
  } else if (options.length) {
    const wanted = remembered().camera;
    const first = options.some((o) => o.value === wanted) ? wanted : options[0].value;
    select.value = first;
    selectCamera(first);
  } else {
    selectCamera(null);
    setConn("disconnected", "The server has no camera yet");
  }
  return true;
}

onUnauthorized(() => setConn("unauthorized"));
installKeys();

async function start() {
  // Until the server answers (or admits us), try again now and then: no reload needed.
  while (!(await loadCameras())) await new Promise((r) => setTimeout(r, 3000));
  setInterval(() => {
    if (document.visibilityState === "visible") loadCameras();
  }, CAMERAS_EVERY_MS);
}

start().catch(sayError);
