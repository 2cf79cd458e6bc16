// The waveform: each stem's peaks stacked in its colour, scaled by what it is heard at, the part not yet played
// veiled, the part not yet separated left blank, and the playhead. It is the seek bar too: a click or drag moves
// there, the arrow keys move by 5 s (Page Up/Down by 30 s), Home and End go to either end (of what has arrived).
import { PEAKS_PER_SECOND } from './player.js';

export const COLOURS = { drums: '#d9480f', bass: '#2b8a3e', other: '#1971c2', vocals: '#9c36b5' };

export const clock = s => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;

export class Waveform {
  #key = '';
  #image = null;
  #closing = new AbortController();
  #resizing;

  constructor(canvas, player) {
    this.canvas = canvas;
    this.player = player;
    const signal = this.#closing.signal;
    this.#resizing = new ResizeObserver(() => this.draw());
    this.#resizing.observe(canvas);
    canvas.addEventListener('pointerdown', e => {
      canvas.setPointerCapture(e.pointerId);
      this.#seekTo(e);
    }, { signal });
    canvas.addEventListener('pointermove', e => canvas.hasPointerCapture(e.pointerId) && this.#seekTo(e), { signal });
    canvas.addEventListener('keydown', e => {
      const step = { ArrowLeft: -5, ArrowDown: -5, ArrowRight: 5, ArrowUp: 5, PageDown: -30, PageUp: 30 }[e.key];
      const to = e.key === 'Home' ? 0 : e.key === 'End' ? player.duration : step !== undefined ? player.position + step : null;
      if (to === null) return;
      e.preventDefault();
      player.seek(to);
    }, { signal });
  }

  /** Lets go of the canvas (another song, or another player, takes it). */
  close() {
    this.#closing.abort();
    this.#resizing.disconnect();
  }

  // The stems' peaks, drawn again only when the size, a level or what has arrived changes (not at every frame).
  #stack(width, height) {
    const { player } = this;
    const levels = player.levels();
    const key = JSON.stringify([width, height, levels, player.duration, player.stems.map(s => s.bins)]);
    if (this.#key === key) return this.#image;
    this.#key = key;
    this.#image = new OffscreenCanvas(width, height);
    const g = this.#image.getContext('2d');
    const { stems } = player;
    const bins = stems.length ? Math.min(...stems.map(s => s.bins)) : 0;
    // Scaled so that the loudest moment of the song as separated (so far) fills the height.
    let loudest = 1e-6;
    for (let b = 0; b < bins; b++) loudest = Math.max(loudest, stems.reduce((sum, s) => sum + s.peaks[b], 0));
    const scale = (height / 2 - 1) / loudest;
    const middle = height / 2;
    const perPixel = player.duration * PEAKS_PER_SECOND / width;
    for (let x = 0; x < width; x++) {
      const from = Math.floor(x * perPixel);
      if (from >= bins) break;
      const to = Math.min(bins, Math.max(from + 1, Math.floor((x + 1) * perPixel)));
      let base = 0;
      for (const stem of stems) {
        let peak = 0;
        for (let b = from; b < to; b++) peak = Math.max(peak, stem.peaks[b]);
        const h = peak * levels[stem.name] * scale;
        g.fillStyle = COLOURS[stem.name];
        g.fillRect(x, middle - base - h, 1, h);
        g.fillRect(x, middle + base, 1, h);
        base += h;
      }
    }
    return this.#image;
  }

  #seekTo(event) {
    const box = this.canvas.getBoundingClientRect();
    this.player.seek((event.clientX - box.left) / box.width * this.player.duration);
  }

  draw() {
    const { canvas, player } = this;
    const width = Math.round(canvas.clientWidth * devicePixelRatio);
    const height = Math.round(canvas.clientHeight * devicePixelRatio);
    if (width === 0 || height === 0) return;
    if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, { width, height });
    const g = canvas.getContext('2d');
    g.clearRect(0, 0, width, height);
    const duration = player.duration || 1;
    g.drawImage(this.#stack(width, height), 0, 0);
    const played = Math.round(player.position / duration * width);
    g.fillStyle = 'rgba(255, 255, 255, 0.55)';
    g.fillRect(played, 0, width - played, height);
    const arrived = Math.round(player.arrived / duration * width);
    if (arrived < width) {
      // Not separated yet: a faint midline where the song will be.
      g.fillStyle = '#c3c9d1';
      g.fillRect(arrived, Math.round(height / 2) - devicePixelRatio / 2, width - arrived, devicePixelRatio);
    }
    g.fillStyle = '#111';
    g.fillRect(played - devicePixelRatio, 0, 2 * devicePixelRatio, height);

    const about = player.exact ? '' : 'about ';
    canvas.setAttribute('aria-valuemax', String(Math.round(player.duration)));
    canvas.setAttribute('aria-valuenow', String(Math.round(player.position)));
    canvas.setAttribute('aria-valuetext', `${clock(player.position)} of ${about}${clock(player.duration)}`);
  }
}
