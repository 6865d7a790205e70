// The gallery: every image the server saved from the camera, newest first. It is read whole
// on each (re)connect (so images saved while the stream was down appear, and deleted ones go)
// and grows from `image` events in between. Thumbnails are the server's (JPEG only); a RAW gets
// a drawn placeholder rather than a request that can only answer 404.

import { byId, el, debounce } from "./dom.js";
import { cameraPath, get, del, url } from "./api.js";
import { act, sayError } from "./messages.js";

export class Gallery {
  constructor() {
    this.list = byId("gallery");
    this.cameraId = null;
    this.items = new Map(); // name → <li>
    this.reads = 0; // list reads started
    // What happened since a read started, which its reply cannot know: name → read number.
    this.arrived = new Map(); // images from events
    this.deleted = new Map(); // images deleted from this page
    this.fillIn = debounce(() => this.refresh(), 1500);
  }

  setCamera(id) {
    this.fillIn.cancel();
    this.cameraId = id;
    this.items.clear();
    this.arrived.clear();
    this.deleted.clear();
    this.list.replaceChildren();
    this.showCount();
  }

  imageUrl(name, rest = "") {
    return url(cameraPath(this.cameraId, `/images/${encodeURIComponent(name)}${rest}`));
  }

  /** Reads the whole list and makes the page match it. */
  async refresh() {
    const id = this.cameraId;
    if (!id) return;
    const read = ++this.reads;
    try {
      const r = await get(cameraPath(id, "/images"));
      if (id !== this.cameraId || read !== this.reads) return; // a newer read is on its way
      // An image deleted here after the read started is not brought back by it.
      const images = (Array.isArray(r?.images) ? r.images : [])
        .filter((i) => !((this.deleted.get(String(i.name)) ?? 0) >= read));
      const names = new Set(images.map((i) => String(i.name)));
      for (const [name, li] of this.items) {
        // One that arrived by event after the read started stays; the list has not seen it.
        if (!names.has(name) && !((this.arrived.get(name) ?? 0) >= read)) {
          li.remove();
          this.items.delete(name);
        }
      }
      // Newest first from the server: append the ones not shown yet in that order, then put
      // every item in its place (cheap: at most a few hundred nodes move).
      // An item made from an `image` event lacks the shot's settings: made again from the list.
      const ordered = images.map((img) => {
        const have = this.items.get(String(img.name));
        return have && (have.dataset.settings === "true" || !img.settings) ? have : this.make(img);
      });
      const newer = [...this.arrived.keys()]
        .filter((n) => !names.has(n) && this.items.has(n))
        .reverse()
        .map((n) => this.items.get(n));
      this.list.replaceChildren(...newer, ...ordered);
      // What this read has seen needs no keeping.
      for (const m of [this.arrived, this.deleted]) {
        for (const [n, at] of m) if (at < read) m.delete(n);
      }
      this.showCount();
    } catch (e) {
      if (e?.status !== 0) sayError(e);
    } finally {
      if (id === this.cameraId) this.list.dataset.loads = String(Number(this.list.dataset.loads ?? 0) + 1);
    }
  }

  /** An `image` event: the newest image goes first. */
  onImage(img) {
    const name = String(img?.name ?? "");
    if (!name || this.items.has(name)) return;
    this.arrived.set(name, this.reads);
    this.list.prepend(this.make(img));
    this.showCount();
    // The event carries no settings (shutter, aperture, ISO): the list does, read once a burst
    // of images has arrived.
    this.fillIn();
  }

  make(img) {
    const name = String(img.name);
    const format = String(img.format ?? "");
    const isJpeg = /^jpe?g$/i.test(format) || /\.jpe?g$/i.test(name);
    const li = el("li", { class: "gallery-item", "data-name": name, "data-format": format, title: name });
    const full = this.imageUrl(name);
    let thumb;
    if (isJpeg) {
      thumb = el("img", { src: this.imageUrl(name, "/thumbnail"), alt: name, loading: "lazy", decoding: "async" });
      // A thumbnail that cannot be made becomes the placeholder, quietly.
      thumb.addEventListener("error", () => thumb.replaceWith(placeholder(format || "?", name)), { once: true });
    } else {
      thumb = placeholder(format || "RAW", name);
    }
    const open = el("a", { class: "open thumb-link", href: full, target: "_blank", rel: "noopener", title: `Open ${name}` });
    open.append(thumb);
    const caption = el("div", { class: "caption" });
    caption.append(el("span", { class: "name", text: name, title: name }));
    if (format) caption.append(el("span", { class: "format", text: format }));
    const settings = img.settings && typeof img.settings === "object" ? img.settings : null;
    li.dataset.settings = String(Boolean(settings));
    if (settings) {
      const bits = [settings.shutter, settings.aperture, settings.iso ? `ISO ${settings.iso}` : null].filter(Boolean);
      if (bits.length) {
        caption.append(el("span", { class: "exif", text: bits.join("  ") }));
        // The filmstrip shows names only: the settings are in the tooltip there.
        li.title = `${name}\n${bits.join("  ")}`;
      }
    }
    const actions = el("div", { class: "item-actions" });
    const download = el("a", { class: "download icon-link", href: full, download: name, title: `Download ${name}`, "aria-label": `Download ${name}` });
    download.append(svgIcon("M12 4v11m0 0l-4.5-4.5M12 15l4.5-4.5M5 19h14"));
    const remove = el("button", { type: "button", class: "delete icon-link", title: `Delete ${name}`, "aria-label": `Delete ${name}` });
    remove.append(svgIcon("M5 7h14M10 7V5h4v2M7 7l1 12h8l1-12"));
    remove.addEventListener("click", () => this.remove(name, remove));
    actions.append(download, remove);
    li.append(open, caption, actions);
    this.items.set(name, li);
    return li;
  }

  remove(name, button) {
    if (!window.confirm(`Delete ${name} from the server? This cannot be undone.`)) return undefined;
    const id = this.cameraId;
    return act(button, async () => {
      await del(cameraPath(id, `/images/${encodeURIComponent(name)}`));
      if (id !== this.cameraId) return;
      this.deleted.set(name, this.reads);
      this.arrived.delete(name);
      this.items.get(name)?.remove();
      this.items.delete(name);
      this.showCount();
    });
  }

  showCount() {
    const n = this.items.size;
    byId("gallery-count").textContent = n ? String(n) : "";
    byId("gallery-empty").hidden = n > 0;
  }
}

/** A stand-in for an image without a thumbnail: its format in a frame. */
function placeholder(format, name) {
  const box = el("div", { class: "placeholder", role: "img", "aria-label": `${name} (${format}, no preview)` });
  box.append(el("span", { text: format.toUpperCase() }));
  return box;
}

function svgIcon(d) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d);
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", "1.8");
  path.setAttribute("stroke-linecap", "round");
  path.setAttribute("stroke-linejoin", "round");
  svg.append(path);
  return svg;
}
