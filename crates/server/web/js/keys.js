// Keyboard shortcuts for a desktop, listed in #help. They act by clicking the page's own
// controls, so a shortcut does exactly what its button does (disabled while its request runs,
// errors in #messages). Keys typed into a field or a list are the field's, never a shortcut.

import { byId, typingIn } from "./dom.js";

const CLICKS = {
  " ": "btn-shutter",
  f: "btn-af",
  b: "btn-bulb",
  r: "btn-release",
  l: "lv-toggle",
  ",": "focus-near-1",
  ".": "focus-far-1",
  "<": "focus-near-7",
  ">": "focus-far-7",
  c: "clipping",
  z: "loupe",
};

export function installKeys() {
  const help = byId("help");
  const helpButton = byId("btn-help");
  const setHelp = (open) => {
    help.hidden = !open;
    helpButton.setAttribute("aria-expanded", String(open));
    if (open) byId("help-close").focus();
  };
  helpButton.addEventListener("click", () => setHelp(help.hidden));
  byId("help-close").addEventListener("click", () => setHelp(false));
  help.addEventListener("click", (e) => {
    if (e.target === help) setHelp(false);
  });

  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !help.hidden) {
      setHelp(false);
      e.preventDefault();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (typingIn(e.target)) return;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (e.key === "?") {
      setHelp(help.hidden);
      e.preventDefault();
      return;
    }
    if (key === "g") {
      const grid = byId("grid");
      grid.selectedIndex = (grid.selectedIndex + 1) % grid.options.length;
      grid.dispatchEvent(new Event("change"));
      e.preventDefault();
      return;
    }
    // `<` and `>` are shifted `,` and `.` on many layouts: e.key already tells them apart.
    const id = CLICKS[e.key] ?? CLICKS[key];
    if (!id) return;
    if (e.repeat && id === "btn-shutter") return; // a held space bar is one shot, not a burst
    // Space on a focused button would click it a second time.
    e.preventDefault();
    const target = byId(id);
    if (!target.disabled) target.click();
  });
}
