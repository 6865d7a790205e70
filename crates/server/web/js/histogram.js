// Histogram and clipping, from a 160×120 copy of each live-view frame: 19 200 pixels are plenty
// for a histogram's shape and cost well under a millisecond, where the full frame would cost 16
// times that on every frame. Nothing runs while live view is paused: the work is driven by
// frames, not by a timer.

import { fitToBox } from "./dom.js";

const W = 160;
const H = 120;
/** At or above this (any channel) a pixel counts as blown; at or below SHADOW as blocked. */
const HIGHLIGHT = 250;
const SHADOW = 4;

export class Histogram {
  constructor(canvas, modeSelect) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.modeSelect = modeSelect;
    this.work = document.createElement("canvas");
    this.work.width = W;
    this.work.height = H;
    this.workCtx = this.work.getContext("2d", { willReadFrequently: true });
    this.pixels = null; // the last small copy, for the clipping overlay
    this.mask = new ImageData(W, H); // the clipping overlay's pixels, reused frame after frame
    this.bins = null;
    modeSelect.addEventListener("change", () => this.draw());
    // Drawn at its shown size times the screen's pixel ratio, so it is sharp on a phone too.
    new ResizeObserver(() => this.resize()).observe(canvas);
  }

  resize() {
    if (fitToBox(this.canvas)) this.draw();
  }

  /** Counts `bitmap` (frame `number`) and draws the histogram. */
  update(bitmap, number) {
    this.workCtx.drawImage(bitmap, 0, 0, W, H);
    const data = this.workCtx.getImageData(0, 0, W, H);
    this.pixels = data;
    const luma = new Uint32Array(256);
    const r = new Uint32Array(256);
    const g = new Uint32Array(256);
    const b = new Uint32Array(256);
    const px = data.data;
    for (let i = 0; i < px.length; i += 4) {
      const R = px[i];
      const G = px[i + 1];
      const B = px[i + 2];
      r[R]++;
      g[G]++;
      b[B]++;
      // Rec. 709 weights, in integers.
      luma[(R * 54 + G * 183 + B * 19) >> 8]++;
    }
    this.bins = { luma, r, g, b };
    this.canvas.dataset.frame = String(number);
    this.draw();
  }

  /** Forgets the last frame (another camera). */
  clear() {
    this.bins = null;
    this.pixels = null;
    this.canvas.dataset.frame = "0";
    this.draw();
  }

  draw() {
    const { ctx, canvas } = this;
    const w = canvas.width;
    const h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = "#0c0d0f";
    ctx.fillRect(0, 0, w, h);
    ctx.strokeStyle = "rgba(255,255,255,0.07)";
    ctx.lineWidth = 1;
    for (let q = 1; q < 4; q++) {
      const x = Math.round((q * w) / 4) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x, 0);
      ctx.lineTo(x, h);
      ctx.stroke();
    }
    if (!this.bins) return;
    const total = W * H;
    if (this.modeSelect.value === "rgb") {
      ctx.globalCompositeOperation = "lighter";
      this.area(this.bins.r, "rgba(235,70,70,0.75)", total);
      this.area(this.bins.g, "rgba(70,200,90,0.75)", total);
      this.area(this.bins.b, "rgba(80,120,255,0.8)", total);
      ctx.globalCompositeOperation = "source-over";
    } else {
      this.area(this.bins.luma, "rgba(225,222,215,0.85)", total);
    }
    // Clipping markers: a lit corner when more than 0.5 % of the picture sits at an end.
    const lo = this.bins.luma[0] + this.bins.luma[1];
    const hi = this.bins.luma[255] + this.bins.luma[254];
    ctx.fillStyle = "#4d8dff";
    if (lo / total > 0.005) ctx.fillRect(0, 0, 6, 6);
    ctx.fillStyle = "#ff4d4d";
    if (hi / total > 0.005) ctx.fillRect(w - 6, 0, 6, 6);
  }

  /** One channel as a filled area; heights on a square-root scale so small counts show. */
  area(bins, colour, total) {
    const { ctx, canvas } = this;
    const w = canvas.width;
    const h = canvas.height;
    let peak = 1;
    // The ends are left out of the scale: a clipped sky would flatten everything else.
    for (let i = 1; i < 255; i++) peak = Math.max(peak, bins[i]);
    const scale = Math.sqrt(Math.max(peak, total / 256));
    ctx.fillStyle = colour;
    ctx.beginPath();
    ctx.moveTo(0, h);
    for (let i = 0; i < 256; i++) {
      const x = (i / 255) * w;
      const y = h - Math.min(1, Math.sqrt(bins[i]) / scale) * (h - 2);
      ctx.lineTo(x, y);
    }
    ctx.lineTo(w, h);
    ctx.closePath();
    ctx.fill();
  }

  /**
   * A W×H ImageData of the clipped pixels of the last frame (red blown, blue blocked,
   * transparent elsewhere), or null. The same ImageData each time: use it before the next
   * frame.
   */
  clippingMask() {
    if (!this.pixels) return null;
    const src = this.pixels.data;
    const out = this.mask;
    const dst = out.data;
    for (let i = 0; i < src.length; i += 4) {
      const max = Math.max(src[i], src[i + 1], src[i + 2]);
      if (max >= HIGHLIGHT) {
        dst[i] = 255; dst[i + 1] = 40; dst[i + 2] = 40; dst[i + 3] = 200;
      } else if (max <= SHADOW) {
        dst[i] = 40; dst[i + 1] = 110; dst[i + 2] = 255; dst[i + 3] = 200;
      } else {
        dst[i + 3] = 0;
      }
    }
    return out;
  }
}
