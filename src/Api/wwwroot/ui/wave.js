// The waveform: each stem's peaks stacked in its colour, scaled by what it is heard at, the part not yet played
// veiled, and the playhead. It is the seek bar too: a click or drag moves there, the arrow keys move by 5 s
// (Page Up/Down by 30 s), Home and End go to either end.

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
    canvas.setAttribute('aria-valuemax', String(Math.round(player.duration)));
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

  // The stems' peaks, drawn again only when the size or a level changes (not at every frame).
  #stack(width, height) {
    const levels = this.player.levels();
    const key = JSON.stringify([width, height, levels]);
    if (this.#key === key) return this.#image;
    this.#key = key;
    this.#image = new OffscreenCanvas(width, height);
    const g = this.#image.getContext('2d');
    const stems = this.player.stems;
    const bins = stems[0].peaks.length;
    // Scaled so that the loudest moment of the song as separated fills the height.
    let loudest = 1e-6;
    for (let b = 0; b < bins; b++) loudest = Math.max(loudest, stems.reduce((sum, s) => sum + s.peaks[b], 0));
    const scale = (height / 2 - 1) / loudest;
    const middle = height / 2;
    for (let x = 0; x < width; x++) {
      const bin = Math.floor(x / width * bins);
      let base = 0;
      for (const stem of stems) {
        const h = stem.peaks[bin] * levels[stem.name] * scale;
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
    g.drawImage(this.#stack(width, height), 0, 0);
    const played = Math.round(player.position / player.duration * width);
    g.fillStyle = 'rgba(255, 255, 255, 0.55)';
    g.fillRect(played, 0, width - played, height);
    g.fillStyle = '#111';
    g.fillRect(played - devicePixelRatio, 0, 2 * devicePixelRatio, height);

    canvas.setAttribute('aria-valuenow', String(Math.round(player.position)));
    canvas.setAttribute('aria-valuetext', `${clock(player.position)} of ${clock(player.duration)}`);
  }
}
