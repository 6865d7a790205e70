// The settings panel: one <select> per setting, offering exactly what the camera takes now.
//
// The whole list is read once per (re)connect; after that `property` events update a field at
// once, and a debounced re-read follows, because one change moves others' lists (a new mode
// changes which shutter speeds exist). A field the user has focused is never redrawn under
// them: its update waits until they leave it (`data-pending` says one waits), and other fields
// redraw only when what they show changed, so nothing being chosen is reset.
//
// Replies and events race: a list read before an event can arrive after it. So a reply older
// than the newest read is dropped, and a value an event brought after a read started wins over
// that read's (the next re-read, which every event schedules, brings the rest). Two quick
// choices in one field can have two writes on their way: only the newest write's reply is
// taken (`#settings`' `data-writes` counts the replies handled).
//
// Each field is found in the list by the aliases the server names in every entry (`aliases`,
// from `sonyctl set`'s table): the page keeps no copy of property codes.

import { cameraPath, get, put } from "./api.js";
import { sayError } from "./messages.js";
import { debounce, timing } from "./dom.js";

const REREAD_MS = 350;
/**
 * A choice made with the keyboard is sent once the keys rest this long (or on Enter/leaving).
 * The browser tests lengthen it (`timing("keysIdleMs")`) to test Enter without the rest.
 */
const KEYS_IDLE_MS = 600;

export class Settings {
  constructor(root) {
    this.root = root;
    this.cameraId = null;
    this.props = new Map(); // alias → the last property entry
    this.codes = new Map(); // property code → alias, learnt from the list's `aliases`
    this.pending = new Set(); // aliases whose redraw waits for the user to leave the field
    this.signature = new Map(); // alias → what the field shows, to skip needless redraws
    this.selects = new Map();
    this.watchers = new Map(); // alias → fn(raw): settings other panels show (no <select>)
    this.reads = 0; // list reads started
    this.eventCount = 0; // property events seen
    this.lastEvent = new Map(); // code → {n, raw, display}: the newest event of each property
    this.writes = new Map(); // alias → the number of the newest write of that setting
    this.reread = debounce(() => this.load(), REREAD_MS);
    for (const select of root.querySelectorAll("select[data-prop]")) {
      const alias = select.dataset.prop;
      this.selects.set(alias, select);
      this.wire(alias, select);
    }
    root.dataset.loads = "0";
    root.dataset.writes = "0";
  }

  /** `fn(raw)` gets property `alias`'s value from every list read and every event. */
  watch(alias, fn) {
    this.watchers.set(alias, fn);
  }

  /**
   * A mouse (or touch) choice is sent at once; arrow keys move through the list without
   * writing to the camera on every press: the choice goes when the keys rest, on Enter, or when
   * the user leaves the field. Focus stays where the user put it.
   */
  wire(alias, select) {
    let keyed = false;
    let timer = 0;
    const commit = () => {
      clearTimeout(timer);
      timer = 0;
      if (select.dataset.chosen !== undefined) this.change(alias, select);
    };
    select.addEventListener("keydown", (e) => {
      keyed = true;
      if (e.key === "Enter") commit();
    });
    select.addEventListener("pointerdown", () => { keyed = false; });
    select.addEventListener("change", () => {
      select.dataset.chosen = select.value;
      if (keyed) {
        clearTimeout(timer);
        timer = setTimeout(commit, timing("keysIdleMs", KEYS_IDLE_MS));
      } else {
        commit();
      }
    });
    select.addEventListener("blur", () => {
      keyed = false;
      if (timer) commit();
      if (this.pending.delete(alias)) this.render(alias);
    });
  }

  setCamera(id) {
    this.reread.cancel();
    this.cameraId = id;
    this.props.clear();
    this.codes.clear();
    this.pending.clear();
    this.signature.clear();
    this.lastEvent.clear();
    for (const alias of this.selects.keys()) this.render(alias);
  }

  /** `entry` with what events told since event number `since` (newer than the entry). */
  fresher(entry, since) {
    const ev = this.lastEvent.get(entry.code);
    if (!ev || ev.n <= since) return entry;
    return { ...entry, current: ev.raw, display: ev.display };
  }

  /** Reads every property and redraws what changed. */
  async load() {
    const id = this.cameraId;
    if (!id) return;
    const read = ++this.reads;
    const since = this.eventCount;
    try {
      const reply = await get(cameraPath(id, "/properties"));
      if (id !== this.cameraId || read !== this.reads) return; // a newer read is on its way
      const byAlias = new Map();
      this.codes.clear();
      for (const p of reply?.properties ?? []) {
        for (const alias of Array.isArray(p.aliases) ? p.aliases : []) {
          if (!this.selects.has(alias) && !this.watchers.has(alias)) continue;
          byAlias.set(alias, this.fresher(p, since));
          this.codes.set(p.code, alias);
        }
      }
      for (const [alias, fn] of this.watchers) {
        if (byAlias.has(alias)) fn(byAlias.get(alias).current);
      }
      for (const alias of this.selects.keys()) {
        const p = byAlias.get(alias);
        if (p) this.props.set(alias, p);
        else this.props.delete(alias);
        this.render(alias);
      }
    } catch (e) {
      // The stream's own state tells of a lost server; other failures are worth a word.
      if (e?.status !== 0) sayError(e);
    } finally {
      if (id === this.cameraId) this.root.dataset.loads = String(Number(this.root.dataset.loads) + 1);
    }
  }

  /** A `property` event: show the new value now, re-read the lists soon. */
  onProperty(ev) {
    if (typeof ev?.new_raw === "number" || typeof ev?.new_raw === "string") {
      this.eventCount += 1;
      this.lastEvent.set(ev.code, { n: this.eventCount, raw: ev.new_raw, display: ev.new });
      const alias = this.codes.get(ev.code);
      this.watchers.get(alias)?.(ev.new_raw);
      const p = alias && this.props.get(alias);
      if (p) {
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
    const p = this.props.get(alias);
    if (document.activeElement === select) {
      // What the field shows already is the camera's value (the user's own choice, taken):
      // its text can say so; the list waits.
      if (p && select.value === String(p.current) && select.dataset.chosen === undefined) {
        select.dataset.current = String(p.display ?? "");
        select.title = String(p.display ?? "");
      }
      this.pending.add(alias);
      select.dataset.pending = "true";
      return;
    }
    delete select.dataset.pending;
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
    if (this.signature.get(alias) === sig && select.dataset.chosen === undefined) return;
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
    const raw = select.dataset.chosen;
    delete select.dataset.chosen;
    if (!id || raw === undefined || !/^-?\d+$/.test(raw)) return;
    const shown = this.props.get(alias);
    // Back where it was: nothing to send, unless a write of another value is on its way.
    if (shown && String(shown.current) === raw && !select.hasAttribute("aria-busy")) return;
    const since = this.eventCount;
    const write = (this.writes.get(alias) ?? 0) + 1;
    this.writes.set(alias, write);
    const newest = () => id === this.cameraId && this.writes.get(alias) === write;
    select.setAttribute("aria-busy", "true");
    try {
      // Sent as written: a JSON number of the raw value, so no digit is lost to floats.
      const entry = await put(cameraPath(id, `/properties/${encodeURIComponent(alias)}`), `{"value": ${raw}}`);
      if (newest() && entry && entry.code !== undefined) {
        this.props.set(alias, this.fresher(entry, since));
      }
    } catch (e) {
      sayError(e);
      // Refused: the field goes back to the camera's value (its list stays as it is), unless
      // a newer choice is on its way.
      const now = String(this.props.get(alias)?.current ?? "");
      if (newest() && [...select.options].some((o) => o.value === now)) select.value = now;
    } finally {
      if (newest()) {
        select.removeAttribute("aria-busy");
        this.signature.delete(alias);
        this.render(alias);
      }
      this.reread();
      if (id === this.cameraId) this.root.dataset.writes = String(Number(this.root.dataset.writes) + 1);
    }
  }
}
