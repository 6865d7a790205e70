// Keyboard shortcuts for a desktop, listed in #help. They act by clicking the page's own
// controls, so a shortcut does exactly what its button does (disabled while its request runs,
// errors in #messages). Keys typed into a field or a list are the field's, never a shortcut,
// and while the help is open only `?` and Escape do anything (they close it).

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
    const was = !help.hidden;
    help.hidden = !open;
    helpButton.setAttribute("aria-expanded", String(open));
    if (open) byId("help-close").focus();
    else if (was) helpButton.focus();
  };
  helpButton.addEventListener("click", () => setHelp(help.hidden));
  byId("help-close").addEventListener("click", () => setHelp(false));
  help.addEventListener("click", (e) => {
    if (e.target === help) setHelp(false);
  });

  document.addEventListener("keydown", (e) => {
    if (!help.hidden) {
      // The help is a dialog: Escape and `?` close it, and no other key is a shortcut (Space
      // on its Close button closes it, it takes no picture).
      if (e.key === "Escape" || e.key === "?") {
        setHelp(false);
        e.preventDefault();
      }
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
