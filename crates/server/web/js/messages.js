// #messages: what went wrong, in the API's own words, newest last. A message fades after a while
// but stays long enough to read; the list is bounded so a failing loop cannot grow the page.

import { byId, el } from "./dom.js";
import { ApiError } from "./api.js";

const KEEP = 6;
/** How long a message stays: long enough to read an error twice. */
const SHOW_MS = { error: 15000, info: 6000 };

/** Shows `text` as a message (`kind`: `error` or `info`). */
export function say(text, kind = "error") {
  const box = byId("messages");
  const item = el("div", { class: `message ${kind}` });
  item.append(el("span", { class: "message-text", text }));
  // The cross is drawn by CSS, so the message's text is exactly the API's message.
  const close = el("button", { type: "button", class: "message-close", "aria-label": "Dismiss", title: "Dismiss" });
  close.addEventListener("click", () => item.remove());
  item.append(close);
  box.append(item);
  while (box.children.length > KEEP) box.firstElementChild?.remove();
  setTimeout(() => item.remove(), SHOW_MS[kind] ?? SHOW_MS.error);
}

/** Shows an error caught from an API call (an abort is nobody's news). */
export function sayError(e) {
  if (e?.name === "AbortError") return;
  if (e instanceof ApiError) say(e.message);
  else say(String(e?.message ?? e));
}

/**
 * Runs `fn` for a button: the button is disabled until the request has ended (so a second click
 * cannot queue a second shot), and any failure lands in #messages instead of the console.
 * Answers what `fn` answered, or undefined when it failed.
 */
export async function act(button, fn) {
  if (button?.disabled) return undefined;
  if (button) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
  }
  try {
    return await fn();
  } catch (e) {
    sayError(e);
    return undefined;
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }
}
