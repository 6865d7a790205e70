// The gallery: every image the server saved from the camera, newest first. It is read whole
// on each (re)connect (so images saved while the stream was down appear, and deleted ones go)
// and grows from `image` events in between. Thumbnails are the server's (JPEG only); a RAW gets
// a drawn placeholder rather than a request that can only answer 404.

import { byId, el } from "./dom.js";
import { cameraPath, get, del, url } from "./api.js";
import { act, sayError } from "./messages.js";

export class Gallery {
  constructor() {
    this.list = byId("gallery");
    this.cameraId = null;
    this.items = new Map(); // name → <li>
  }

  setCamera(id) {
    this.cameraId = id;
    this.items.clear();
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
    try {
      const r = await get(cameraPath(id, "/images"));
      if (id !== this.cameraId) return;
      const images = Array.isArray(r?.images) ? r.images : [];
      const names = new Set(images.map((i) => String(i.name)));
      for (const [name, li] of this.items) {
        if (!names.has(name)) {
          li.remove();
          this.items.delete(name);
        }
      }
      // Newest first from the server: append the ones not shown yet in that order, then put
      // every item in its place (cheap: at most a few hundred nodes move).
      const ordered = images.map((img) => this.items.get(String(img.name)) ?? this.make(img));
      this.list.replaceChildren(...ordered);
      this.showCount();
    } catch (e) {
      if (e?.status !== 0) sayError(e);
    }
  }

  /** An `image` event: the newest image goes first. */
  onImage(img) {
    const name = String(img?.name ?? "");
    if (!name || this.items.has(name)) return;
    this.list.prepend(this.make(img));
    this.showCount();
  }

  make(img) {
    const name = String(img.name);
    const format = String(img.format ?? "");
    const isJpeg = /^jpe?g$/i.test(format) || /\.jpe?g$/i.test(name);
    const li = el("li", { class: "gallery-item", "data-name": name, "data-format": format });
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
    if (settings) {
      const bits = [settings.shutter, settings.aperture, settings.iso ? `ISO ${settings.iso}` : null].filter(Boolean);
      if (bits.length) caption.append(el("span", { class: "exif", text: bits.join("  ") }));
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
