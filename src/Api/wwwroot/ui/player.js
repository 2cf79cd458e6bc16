// Four stems played in sync on one AudioContext, each through its own GainNode. A stem is held as PCM (a Float32Array
// per channel) that may still grow: decoded whole once the song is done (load), or decoded from the live MP3 streams
// while the song is separated (stream). Playing schedules a few seconds ahead, in blocks of all four stems, each
// block starting on the very sample where the one before ends: blocks join without a gap, the stems stay
// sample-aligned. When playback catches up with what has arrived it fades out and waits, and goes on by itself once
// a few seconds more are there. Volume, mute and solo only move the gains.
import { canDecode, decodeStream } from './live.js';

const RATE = 44100;       // the stems' sample rate: the context runs at it, so no block is resampled on its own
const AHEAD = 4;          // seconds scheduled ahead of the playhead,
const REFILL = 2;         // topped up when less than this is left
const LOW = 0.3;          // waits when less than this has arrived ahead of the playhead,
const RESUME = 2;         // goes on when this much has (or the stems are complete)
const FADE = 0.02;        // seconds of fade where playback stops or starts: no click
const PEAK_FRAMES = 1024; // samples per waveform peak
export const PEAKS_PER_SECOND = RATE / PEAK_FRAMES;

export class Player extends EventTarget {
  context = new AudioContext({ sampleRate: RATE, latencyHint: 'playback' });
  stems = [];        // {name, channels, length, peaks, bins, gain, volume, muted, solo, level}
  live = false;      // streamed while the song is separated
  complete = false;  // every stem has all its audio
  playing = false;   // Play pressed, not paused since (and the song not ended)
  waiting = false;   // playing, but waiting for more audio to arrive
  estimate = 0;      // while it arrives: the song's length as guessed from the separation's progress
  #master = new GainNode(this.context);
  #exact = null;     // the song's length in samples, once known
  #offset = 0;       // where playback starts (or stands, when paused or waiting), in seconds
  #run = null;       // the blocks playing: {at: the context time of sample start, start, next: the first not scheduled, sources}
  #timer = 0;
  #abort = new AbortController();
  #told = 0;

  static canStream = canDecode;

  constructor() {
    super();
    this.#master.connect(this.context.destination);
  }

  /** Fetches and decodes the complete stems ({name: url}); onLoaded(count) after each. */
  async load(urls, onLoaded = () => {}) {
    let loaded = 0;
    this.stems = await Promise.all(Object.entries(urls).map(async ([name, url]) => {
      const response = await fetch(url, { signal: this.#abort.signal });
      if (!response.ok) throw new Error(`the ${name} stem could not be fetched (${response.status})`);
      const buffer = await this.context.decodeAudioData(await response.arrayBuffer());
      const stem = this.#stem(name);
      stem.channels = Array.from({ length: buffer.numberOfChannels }, (_, c) => buffer.getChannelData(c));
      stem.length = buffer.length;
      addPeaks(stem);
      onLoaded(++loaded);
      return stem;
    }));
    this.complete = true;
  }

  /**
   * Streams the stems ({name: live url}) while the song is separated: playable as soon as some audio is there.
   * Resolves when all of it has arrived; rejects when a stream is broken off (the separation started over or failed).
   */
  async stream(urls) {
    this.live = true;
    this.stems = Object.keys(urls).map(name => this.#stem(name));
    await Promise.all(this.stems.map(stem => decodeStream(urls[stem.name], planes => this.#append(stem, planes), this.#abort.signal)));
    this.complete = true;
    this.#trim();
    this.#tell();
  }

  /** The song's length, once the service knows it (the complete stems): the decoded audio is cut to it. */
  finish(seconds) {
    this.#exact = Math.round(seconds * RATE);
    this.#trim();
    this.#tell();
  }

  /** Seconds of every stem there now. */
  get arrived() {
    return this.#arrivedFrames() / RATE;
  }

  /** The song's length: exact once complete or told, else the guess (never less than what has arrived). */
  get duration() {
    if (this.complete) return this.#arrivedFrames() / RATE;
    return this.#exact !== null ? this.#exact / RATE : Math.max(this.estimate, this.arrived);
  }

  /** Whether the duration is exact rather than a guess. */
  get exact() {
    return this.complete || this.#exact !== null;
  }

  /** Seconds from the start, read from the audio clock while playing. */
  get position() {
    const run = this.#run;
    if (!run) return this.#offset;
    return Math.min(run.next, run.start + Math.max(0, this.context.currentTime - run.at) * RATE) / RATE;
  }

  async play() {
    if (this.playing) return;
    await this.context.resume();
    if (this.playing) return;
    if (this.complete && this.#offset >= this.duration) this.#offset = 0;
    this.playing = true;
    this.#timer = setInterval(() => this.#tick(), 100);
    this.#tick();
    this.dispatchEvent(new Event('change'));
  }

  pause() {
    if (!this.playing) return;
    if (this.#run) this.#offset = this.#halt();
    this.#still();
    this.dispatchEvent(new Event('change'));
  }

  /** Moves to a time within what has arrived; playing goes on from there (or waits there). */
  seek(seconds) {
    if (this.#run) this.#halt();
    this.#offset = Math.min(Math.max(0, seconds), this.complete ? this.duration : this.arrived);
    if (this.playing) this.#tick();
    this.dispatchEvent(new Event('change'));
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
    this.#abort.abort();
    if (this.#run) this.#halt();
    this.#still();
    clearTimeout(this.#told);
    this.context.close();
  }

  #stem(name) {
    const gain = new GainNode(this.context);
    gain.connect(this.#master);
    return { name, channels: [], length: 0, peaks: new Float32Array(0), bins: 0, gain, volume: 1, muted: false, solo: false };
  }

  #arrivedFrames() {
    return this.stems.length ? Math.min(...this.stems.map(s => s.length)) : 0;
  }

  // Decoded audio at the end of a stem, in arrays that double as they fill.
  #append(stem, planes) {
    const count = Math.min(planes[0].length, (this.#exact ?? Infinity) - stem.length);
    if (count <= 0) return;
    if (stem.channels.length === 0) stem.channels = planes.map(() => new Float32Array(Math.ceil(Math.max(30, 1.05 * this.estimate) * RATE)));
    if (stem.length + count > stem.channels[0].length) {
      stem.channels = stem.channels.map(old => {
        const grown = new Float32Array(Math.max(2 * old.length, stem.length + count));
        grown.set(old.subarray(0, stem.length));
        return grown;
      });
    }
    stem.channels.forEach((channel, c) => channel.set(planes[Math.min(c, planes.length - 1)].subarray(0, count), stem.length));
    stem.length += count;
    addPeaks(stem);
    this.#tell();
  }

  #trim() {
    if (this.#exact === null) return;
    for (const stem of this.stems) {
      stem.length = Math.min(stem.length, this.#exact);
      stem.bins = Math.min(stem.bins, Math.ceil(stem.length / PEAK_FRAMES));
    }
  }

  // A 'change' for what has arrived: at most every 100 ms, not at every decoded frame.
  #tell() {
    this.#told ||= setTimeout(() => {
      this.#told = 0;
      this.dispatchEvent(new Event('change'));
    }, 100);
  }

  // Every 100 ms while playing: start when enough is there, wait when playback is about to catch up with what has
  // arrived, stop at the end, and schedule ahead.
  #tick() {
    if (!this.playing) return;
    const end = this.complete ? this.duration : Infinity;
    if (!this.#run) {
      if (this.complete || this.arrived - this.#offset >= RESUME) this.#start();
      else if (!this.waiting) {
        this.waiting = true;
        this.dispatchEvent(new Event('change'));
      }
      return;
    }
    const position = this.position;
    if (position >= end) {
      this.#halt();
      this.#offset = 0;
      this.#still();
      this.dispatchEvent(new Event('change'));
    } else if (!this.complete && this.arrived - position < LOW) {
      this.#offset = this.#halt();
      this.waiting = true;
      this.dispatchEvent(new Event('change'));
    } else if (position * RATE >= this.#run.next) {
      // The timer came too late (a busy or hidden page) and the blocks ran out: start again from there.
      this.#offset = this.#halt();
      this.#start();
    } else {
      this.#schedule();
    }
  }

  #start() {
    const at = Math.ceil((this.context.currentTime + 0.05) * RATE) / RATE; // on a sample, a moment ahead
    const start = Math.round(this.#offset * RATE);
    this.#run = { at, start, next: start, sources: new Set() };
    const gain = this.#master.gain;
    gain.cancelScheduledValues(at);
    gain.setValueAtTime(0, at);
    gain.linearRampToValueAtTime(1, at + FADE);
    this.waiting = false;
    this.#schedule();
    this.dispatchEvent(new Event('change'));
  }

  // The next block of every stem, from where the last one ends to AHEAD seconds past the playhead (or to what has
  // arrived), once less than REFILL seconds are left scheduled.
  #schedule() {
    const run = this.#run;
    const playhead = run.start + Math.max(0, this.context.currentTime - run.at) * RATE;
    if (run.next - playhead > REFILL * RATE) return;
    const end = Math.min(this.#arrivedFrames(), Math.round(playhead + AHEAD * RATE));
    if (end <= run.next) return;
    const when = run.at + (run.next - run.start) / RATE;
    for (const stem of this.stems) {
      const buffer = new AudioBuffer({ length: end - run.next, numberOfChannels: stem.channels.length, sampleRate: RATE });
      stem.channels.forEach((data, c) => buffer.copyToChannel(data.subarray(run.next, end), c));
      const source = new AudioBufferSourceNode(this.context, { buffer });
      source.connect(stem.gain);
      source.onended = () => {
        source.disconnect();
        run.sources.delete(source);
      };
      source.start(when);
      run.sources.add(source);
    }
    run.next = end;
  }

  // Fades out and stops the blocks; returns the position where it fell silent.
  #halt() {
    const run = this.#run;
    this.#run = null;
    const now = this.context.currentTime;
    const gain = this.#master.gain;
    gain.cancelScheduledValues(now);
    gain.setValueAtTime(gain.value, now);
    gain.linearRampToValueAtTime(0, now + FADE);
    for (const source of run.sources) source.stop(now + FADE);
    return Math.min(run.next, run.start + Math.max(0, now + FADE - run.at) * RATE) / RATE;
  }

  #still() {
    clearInterval(this.#timer);
    this.playing = this.waiting = false;
  }
}

// The loudest sample of each PEAK_FRAMES of the stem, both channels: the bins not yet complete are worked out again.
function addPeaks(stem) {
  const bins = Math.ceil(stem.length / PEAK_FRAMES);
  if (bins > stem.peaks.length) {
    const grown = new Float32Array(Math.max(bins, 2 * stem.peaks.length));
    grown.set(stem.peaks.subarray(0, stem.bins));
    stem.peaks = grown;
  }
  const first = Math.max(0, stem.bins - 1);
  stem.peaks.fill(0, first, bins);
  for (const data of stem.channels) {
    for (let bin = first; bin < bins; bin++) {
      let peak = stem.peaks[bin];
      for (let i = bin * PEAK_FRAMES, end = Math.min(stem.length, i + PEAK_FRAMES); i < end; i++) {
        const v = Math.abs(data[i]);
        if (v > peak) peak = v;
      }
      stem.peaks[bin] = peak;
    }
  }
  stem.bins = bins;
}
