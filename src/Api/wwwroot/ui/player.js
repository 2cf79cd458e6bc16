// Four stems played in sync: one AudioContext, a GainNode per stem, every source started at the same context time.
// Seeking restarts the sources at the new offset. Volume, mute and solo only move the gains.

const PEAK_BINS = 2048;

export class Player extends EventTarget {
  context = new AudioContext();
  stems = [];
  duration = 0;
  playing = false;
  #offset = 0;    // where playback starts (or stands, when paused), in seconds
  #startedAt = 0; // the context time the sources started at

  /** Fetches and decodes the stems ({name: url}); onLoaded(count) after each. */
  async load(urls, onLoaded = () => {}) {
    let loaded = 0;
    this.stems = await Promise.all(Object.entries(urls).map(async ([name, url]) => {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`the ${name} stem could not be fetched (${response.status})`);
      const buffer = await this.context.decodeAudioData(await response.arrayBuffer());
      const gain = new GainNode(this.context);
      gain.connect(this.context.destination);
      onLoaded(++loaded);
      return { name, buffer, gain, volume: 1, muted: false, solo: false, source: null, peaks: peaks(buffer) };
    }));
    this.duration = Math.max(...this.stems.map(s => s.buffer.duration));
  }

  /** Seconds from the start, read from the audio clock while playing. */
  get position() {
    if (!this.playing) return this.#offset;
    return Math.min(this.duration, this.#offset + Math.max(0, this.context.currentTime - this.#startedAt));
  }

  async play() {
    if (this.playing) return;
    await this.context.resume();
    if (this.#offset >= this.duration) this.#offset = 0;
    const at = this.context.currentTime + 0.05; // a moment ahead, so that all four start together
    for (const stem of this.stems) {
      stem.source = new AudioBufferSourceNode(this.context, { buffer: stem.buffer });
      stem.source.connect(stem.gain);
      stem.source.start(at, this.#offset);
    }
    const first = this.stems[0].source;
    first.onended = () => {
      if (this.stems[0].source !== first) return; // stopped by pause or seek, not by the end
      this.#stop();
      this.#offset = 0;
      this.dispatchEvent(new Event('change'));
    };
    this.#startedAt = at;
    this.playing = true;
    this.dispatchEvent(new Event('change'));
  }

  pause() {
    if (!this.playing) return;
    this.#offset = this.position;
    this.#stop();
    this.dispatchEvent(new Event('change'));
  }

  seek(seconds) {
    const resume = this.playing;
    if (resume) this.#stop();
    this.#offset = Math.min(Math.max(0, seconds), this.duration);
    if (resume) this.play();
    else this.dispatchEvent(new Event('change'));
  }

  set(name, settings) {
    Object.assign(this.stems.find(s => s.name === name), settings);
    const soloing = this.stems.some(s => s.solo);
    for (const stem of this.stems) {
      const audible = soloing ? stem.solo : !stem.muted;
      // A short ramp rather than a jump: no click.
      stem.gain.gain.setTargetAtTime(audible ? stem.volume : 0, this.context.currentTime, 0.01);
      stem.level = audible ? stem.volume : 0;
    }
    this.dispatchEvent(new Event('change'));
  }

  /** What each stem is heard at now (volume, mute and solo applied), by name. */
  levels() {
    return Object.fromEntries(this.stems.map(s => [s.name, s.level ?? s.volume]));
  }

  close() {
    this.#stop();
    this.context.close();
  }

  #stop() {
    for (const stem of this.stems) {
      if (!stem.source) continue;
      stem.source.onended = null;
      stem.source.stop();
      stem.source.disconnect();
      stem.source = null;
    }
    this.playing = false;
  }
}

// The loudest sample of each of PEAK_BINS slices of the stem, both channels.
function peaks(buffer) {
  const result = new Float32Array(PEAK_BINS);
  const per = buffer.length / PEAK_BINS;
  for (let c = 0; c < buffer.numberOfChannels; c++) {
    const data = buffer.getChannelData(c);
    for (let bin = 0; bin < PEAK_BINS; bin++) {
      let peak = result[bin];
      for (let i = Math.floor(bin * per), end = Math.floor((bin + 1) * per); i < end; i++) {
        const v = Math.abs(data[i]);
        if (v > peak) peak = v;
      }
      result[bin] = peak;
    }
  }
  return result;
}
