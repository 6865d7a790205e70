// The settings panel: one <select> per setting, offering exactly what the camera takes now.
//
// The whole list is read once per (re)connect; after that `property` events update a field at
// once, and a debounced re-read follows, because one change moves others' lists (a new mode
// changes which shutter speeds exist). A field the user has focused is never redrawn under
// them: its update waits until they leave it, and other fields redraw only when what they
// show changed, so nothing being chosen is reset.

import { cameraPath, get, put } from "./api.js";
import { sayError } from "./messages.js";
import { debounce } from "./dom.js";

/**
 * The property code each alias names, to find it in `GET …/properties` and in `property`
 * events, which carry codes. The aliases are `sonyctl set`'s (crates/sony/src/codes.rs,
 * `ALIASES`), and writes go by alias, so the server resolves them; this table is only for
 * reading the list.
 */
const CODES = {
  mode: 0x500e,
  shutter: 0xd20d,
  aperture: 0x5007,
  iso: 0xd21e,
  ev: 0x5010,
  "focus-mode": 0x500a,
  "focus-area": 0xd22c,
  drive: 0x5013,
  "file-format": 0xd253,
  quality: 0xd252,
  wb: 0x5005,
};

const REREAD_MS = 350;

export class Settings {
  constructor(root) {
    this.root = root;
    this.cameraId = null;
    this.props = new Map(); // alias → the last property entry
    this.pending = new Set(); // aliases whose redraw waits for the user to leave the field
    this.signature = new Map(); // alias → what the field shows, to skip needless redraws
    this.selects = new Map();
    this.loading = null;
    this.reread = debounce(() => this.load(), REREAD_MS);
    for (const select of root.querySelectorAll("select[data-prop]")) {
      const alias = select.dataset.prop;
      this.selects.set(alias, select);
      select.addEventListener("change", () => this.change(alias, select));
      select.addEventListener("blur", () => {
        if (this.pending.delete(alias)) this.render(alias);
      });
    }
  }

  setCamera(id) {
    this.reread.cancel();
    this.cameraId = id;
    this.props.clear();
    this.pending.clear();
    this.signature.clear();
    for (const alias of this.selects.keys()) this.render(alias);
  }

  /** Reads every property and redraws what changed. */
  async load() {
    const id = this.cameraId;
    if (!id) return;
    try {
      const reply = await get(cameraPath(id, "/properties"));
      if (id !== this.cameraId) return;
      const byCode = new Map();
      for (const p of reply?.properties ?? []) byCode.set(p.code, p);
      for (const [alias, code] of Object.entries(CODES)) {
        const p = byCode.get(code);
        if (p) this.props.set(alias, p);
        else this.props.delete(alias);
        this.render(alias);
      }
    } catch (e) {
      // The stream's own state tells of a lost server; other failures are worth a word.
      if (e?.status !== 0) sayError(e);
    }
  }

  /** A `property` event: show the new value now, re-read the lists soon. */
  onProperty(ev) {
    for (const [alias, code] of Object.entries(CODES)) {
      if (code !== ev.code) continue;
      const p = this.props.get(alias);
      if (p && (typeof ev.new_raw === "number" || typeof ev.new_raw === "string")) {
        this.props.set(alias, { ...p, current: ev.new_raw, display: ev.new });
        this.render(alias);
      }
    }
    this.reread();
  }

  /** Draws one field from what is known, unless the user is in it. */
  render(alias) {
    const select = this.selects.get(alias);
    if (!select) return;
    if (document.activeElement === select) {
      this.pending.add(alias);
      return;
    }
    const p = this.props.get(alias);
    const label = select.closest("label");
    if (!p) {
      if (label) label.hidden = true;
      select.replaceChildren();
      select.dataset.current = "";
      this.signature.delete(alias);
      this.hideEmptyGroups();
      return;
    }
    if (label) label.hidden = false;
    this.hideEmptyGroups();
    const current = String(p.current);
    const options = Array.isArray(p.settable) ? p.settable : [];
    const sig = JSON.stringify([current, p.display, p.writable, options]);
    select.dataset.current = String(p.display ?? "");
    select.title = String(p.display ?? "");
    if (this.signature.get(alias) === sig) return;
    this.signature.set(alias, sig);
    const nodes = [];
    let seen = false;
    for (const o of options) {
      const opt = document.createElement("option");
      opt.value = String(o.value);
      opt.textContent = String(o.display);
      if (opt.value === current) {
        opt.selected = true;
        seen = true;
      }
      nodes.push(opt);
    }
    if (!seen) {
      // The current value is shown even when it cannot be chosen now (a value the body set by
      // itself, or a read-only setting), but cannot be picked back.
      const opt = document.createElement("option");
      opt.value = current;
      opt.textContent = String(p.display ?? current);
      opt.disabled = true;
      opt.selected = true;
      opt.dataset.notSettable = "true";
      nodes.unshift(opt);
    }
    select.replaceChildren(...nodes);
    select.value = current;
    select.disabled = !p.writable || options.length === 0;
  }

  hideEmptyGroups() {
    for (const fs of this.root.querySelectorAll("fieldset[data-group]")) {
      fs.hidden = [...fs.querySelectorAll("label.setting")].every((l) => l.hidden);
    }
  }

  /** The user chose a value: send it raw, then show what the camera reports. */
  async change(alias, select) {
    const id = this.cameraId;
    const raw = select.value;
    if (!id || !/^-?\d+$/.test(raw)) return;
    select.disabled = true;
    select.setAttribute("aria-busy", "true");
    try {
      // Sent as written: a JSON number of the raw value, so no digit is lost to floats.
      const entry = await put(cameraPath(id, `/properties/${encodeURIComponent(alias)}`), `{"value": ${raw}}`);
      if (id === this.cameraId && entry && entry.code !== undefined) this.props.set(alias, entry);
    } catch (e) {
      sayError(e);
    } finally {
      select.removeAttribute("aria-busy");
      this.signature.delete(alias);
      if (document.activeElement === select) select.blur();
      this.render(alias);
      this.reread();
    }
  }
}
