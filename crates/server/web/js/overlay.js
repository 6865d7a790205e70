// What is drawn over the picture (#lv-overlay): the camera's AF frames, the grid, the aspect
// mask, the clipping warning, and where the loupe looks. Everything is drawn in the API's
// 640×480 live-view space; the canvas itself is kept at the size it is shown at (times the
// device's pixel ratio), so lines stay one crisp pixel on any screen. Also here: a click or tap
// on the picture moves the AF point, and the loupe (#loupe-view) magnifies the picture.

import { fitToBox } from "./dom.js";

export const LV_W = 640;
export const LV_H = 480;
/** The loupe shows this many live-view pixels square (magnified to its 240-pixel canvas). */
const LOUPE_SIDE = 80;

const ASPECTS = { "1:1": 1, "4:3": 4 / 3, "3:2": 3 / 2, "16:9": 16 / 9, "65:24": 65 / 24 };

export class Overlay {
  /** `onPoint(x, y)`: the user clicked the picture at (x, y) in the 640×480 space. */
  constructor({ container, picture, overlay, loupe, onPoint }) {
    this.container = container;
    this.picture = picture;
    this.canvas = overlay;
    this.ctx = overlay.getContext("2d");
    this.loupeCanvas = loupe;
    this.loupeCtx = loupe.getContext("2d");
    this.grid = "none";
    this.aspect = "none";
    this.clipping = false;
    this.loupe = false;
    this.frames = [];
    this.focus = "";
    this.clipMask = null; // a small canvas holding the clipping colours
    this.hover = null; // {x, y} in live-view space while a pointer is over the picture
    this.tapped = null; // the last clicked point (phones have no hover)

    new ResizeObserver(() => this.resize()).observe(container);
    container.addEventListener("pointermove", (e) => {
      if (e.pointerType === "mouse") {
        this.hover = this.toSpace(e);
        if (this.loupe) this.drawLoupe(), this.draw();
      }
    });
    container.addEventListener("pointerleave", () => {
      this.hover = null;
      if (this.loupe) this.drawLoupe(), this.draw();
    });
    container.addEventListener("click", (e) => {
      if (e.target === this.loupeCanvas) return;
      const p = this.toSpace(e);
      this.tapped = p;
      onPoint(Math.round(Math.min(LV_W - 1, p.x)), Math.round(Math.min(LV_H - 1, p.y)));
    });
    this.resize();
  }

  /** The event's position in live-view space (clamped into it). */
  toSpace(e) {
    const r = this.picture.getBoundingClientRect();
    const x = ((e.clientX - r.left) / Math.max(1, r.width)) * LV_W;
    const y = ((e.clientY - r.top) / Math.max(1, r.height)) * LV_H;
    return { x: Math.max(0, Math.min(LV_W, x)), y: Math.max(0, Math.min(LV_H, y)) };
  }

  resize() {
    fitToBox(this.canvas);
    this.draw();
  }

  setGrid(v) { this.grid = v; this.draw(); }
  setAspect(v) { this.aspect = v; this.draw(); }
  setClipping(on) { this.clipping = on; if (!on) this.clipMask = null; this.draw(); }
  setLoupe(on) {
    this.loupe = on;
    this.loupeCanvas.hidden = !on;
    this.drawLoupe();
    this.draw();
  }

  /** The AF frames and focus state of `liveview/info`. */
  setInfo(info) {
    this.frames = Array.isArray(info?.af_frames) ? info.af_frames : [];
    this.focus = typeof info?.focus === "string" ? info.focus : "";
    this.container.dataset.afFrames = String(this.frames.length);
    this.draw();
  }

  /** A new frame was drawn: refresh what depends on the picture. */
  frame(clippingMask) {
    if (this.clipping && clippingMask) {
      if (!this.clipMask) {
        this.clipMask = document.createElement("canvas");
        this.clipMask.width = clippingMask.width;
        this.clipMask.height = clippingMask.height;
      }
      this.clipMask.getContext("2d").putImageData(clippingMask, 0, 0);
      this.draw();
    }
    if (this.loupe) this.drawLoupe();
  }

  /** Forgets everything of the last camera. */
  clear() {
    this.frames = [];
    this.focus = "";
    this.clipMask = null;
    this.tapped = null;
    this.container.dataset.afFrames = "0";
    this.draw();
  }

  draw() {
    const { ctx, canvas } = this;
    const sx = canvas.width / LV_W;
    const sy = canvas.height / LV_H;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    // One screen pixel, in live-view units, for hairlines.
    const px = 1 / sx;
    ctx.setTransform(sx, 0, 0, sy, 0, 0);

    if (this.clipping && this.clipMask) {
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(this.clipMask, 0, 0, LV_W, LV_H);
    }
    this.drawAspect(px);
    this.drawGrid(px);
    this.drawFrames(px);
    if (this.loupe) {
      const c = this.loupeCentre();
      const side = LOUPE_SIDE;
      ctx.strokeStyle = "rgba(255,255,255,0.8)";
      ctx.lineWidth = px;
      ctx.setLineDash([4 * px, 3 * px]);
      ctx.strokeRect(c.x - side / 2, c.y - side / 2, side, side);
      ctx.setLineDash([]);
    }
  }

  drawAspect(px) {
    const ratio = ASPECTS[this.aspect];
    if (!ratio) return;
    const ctx = this.ctx;
    let w = LV_W;
    let h = LV_W / ratio;
    if (h > LV_H) {
      h = LV_H;
      w = LV_H * ratio;
    }
    const x = (LV_W - w) / 2;
    const y = (LV_H - h) / 2;
    ctx.fillStyle = "rgba(0,0,0,0.62)";
    ctx.beginPath();
    ctx.rect(0, 0, LV_W, LV_H);
    ctx.rect(x, y, w, h);
    ctx.fill("evenodd");
    ctx.strokeStyle = "rgba(255,255,255,0.55)";
    ctx.lineWidth = px;
    ctx.strokeRect(x, y, w, h);
  }

  drawGrid(px) {
    if (this.grid === "none") return;
    const ctx = this.ctx;
    ctx.lineWidth = px;
    ctx.strokeStyle = "rgba(255,255,255,0.45)";
    ctx.beginPath();
    if (this.grid === "thirds") {
      for (const f of [1 / 3, 2 / 3]) {
        ctx.moveTo(LV_W * f, 0); ctx.lineTo(LV_W * f, LV_H);
        ctx.moveTo(0, LV_H * f); ctx.lineTo(LV_W, LV_H * f);
      }
    } else if (this.grid === "centre") {
      ctx.moveTo(LV_W / 2, 0); ctx.lineTo(LV_W / 2, LV_H);
      ctx.moveTo(0, LV_H / 2); ctx.lineTo(LV_W, LV_H / 2);
    }
    ctx.stroke();
    if (this.grid === "centre") {
      ctx.strokeStyle = "rgba(255,255,255,0.8)";
      ctx.lineWidth = 1.5 * px;
      ctx.strokeRect(LV_W / 2 - 12, LV_H / 2 - 12, 24, 24);
    }
  }

  drawFrames(px) {
    const ctx = this.ctx;
    const focus = this.focus.toLowerCase();
    const focused = /(^|\s)focused$/.test(focus) && !focus.startsWith("not");
    const failed = focus.includes("failed");
    for (const f of this.frames) {
      const x = Number(f.x);
      const y = Number(f.y);
      const w = Number(f.width);
      const h = Number(f.height);
      if (![x, y, w, h].every(Number.isFinite)) continue;
      let colour = "rgba(255,255,255,0.9)";
      let corners = false;
      switch (f.group) {
        case "focus":
          colour = focused ? "#3ddc6a" : failed ? "#ff5a4f" : "rgba(255,255,255,0.92)";
          corners = true;
          break;
        case "face": colour = "#f4c542"; break;
        case "tracking": colour = "#43c6e8"; break;
        default: colour = "rgba(200,200,200,0.6)"; break;
      }
      ctx.strokeStyle = "rgba(0,0,0,0.55)";
      ctx.lineWidth = 4 * px;
      this.box(x, y, w, h, corners);
      ctx.strokeStyle = colour;
      ctx.lineWidth = 2 * px;
      this.box(x, y, w, h, corners);
    }
  }

  /** A rectangle, or only its corners (the way a camera marks its focus frame). */
  box(x, y, w, h, corners) {
    const ctx = this.ctx;
    if (!corners) {
      ctx.strokeRect(x, y, w, h);
      return;
    }
    const l = Math.min(w, h) * 0.28;
    ctx.beginPath();
    ctx.moveTo(x, y + l); ctx.lineTo(x, y); ctx.lineTo(x + l, y);
    ctx.moveTo(x + w - l, y); ctx.lineTo(x + w, y); ctx.lineTo(x + w, y + l);
    ctx.moveTo(x + w, y + h - l); ctx.lineTo(x + w, y + h); ctx.lineTo(x + w - l, y + h);
    ctx.moveTo(x + l, y + h); ctx.lineTo(x, y + h); ctx.lineTo(x, y + h - l);
    ctx.stroke();
  }

  /** Where the loupe looks: the mouse, else the last tap, else the focus frame, else the centre. */
  loupeCentre() {
    if (this.hover) return this.hover;
    if (this.tapped) return this.tapped;
    const f = this.frames.find((a) => a.group === "focus");
    if (f) return { x: Number(f.x) + Number(f.width) / 2, y: Number(f.y) + Number(f.height) / 2 };
    return { x: LV_W / 2, y: LV_H / 2 };
  }

  drawLoupe() {
    if (!this.loupe) return;
    const c = this.loupeCentre();
    const out = this.loupeCanvas;
    const side = LOUPE_SIDE;
    const sx = Math.max(0, Math.min(LV_W - side, c.x - side / 2));
    const sy = Math.max(0, Math.min(LV_H - side, c.y - side / 2));
    const ctx = this.loupeCtx;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(this.picture, sx, sy, side, side, 0, 0, out.width, out.height);
  }
}
