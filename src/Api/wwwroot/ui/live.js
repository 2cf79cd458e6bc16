// A stem's MP3 decoded as it arrives: fetch()'s body read as it comes, cut into MP3 frames, and each frame fed to one
// WebCodecs AudioDecoder. One decoder for the whole stream keeps its state from frame to frame (the bit reservoir, the
// filter bank's overlap), so the audio comes out whole, in order, with no seam where the service's parts meet.

// What a decoder puts before the song's first sample: LAME's encoder delay (576) and the decoder's own (529). The
// LAME tag frame before them is not audio and is not decoded at all.
const DELAY = 576 + 529;

const BITRATES = {
  mpeg1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  mpeg2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};

/** Whether this browser decodes MP3 with WebCodecs (a secure context: https, or http on localhost). */
export async function canDecode() {
  if (typeof AudioDecoder === 'undefined') return false;
  try {
    return (await AudioDecoder.isConfigSupported({ codec: 'mp3', sampleRate: 44100, numberOfChannels: 2 })).supported;
  } catch {
    return false;
  }
}

/**
 * Fetches an MP3 and decodes it as it arrives: onAudio(planes) with each block decoded (a Float32Array per channel),
 * in order, the encoder's delay left out. Resolves when the stream has ended and all of it is decoded; rejects when
 * the stream is refused or broken off, or the audio cannot be decoded.
 */
export async function decodeStream(url, onAudio, signal) {
  const response = await fetch(url, { signal, cache: 'no-store' });
  if (!response.ok) throw new Error(`the service answered ${response.status}`);
  let failure = null;
  let skip = DELAY;
  const decoder = new AudioDecoder({
    output: data => {
      try {
        const from = Math.min(skip, data.numberOfFrames);
        skip -= from;
        if (from === data.numberOfFrames) return;
        const planes = [];
        for (let c = 0; c < data.numberOfChannels; c++) {
          const plane = new Float32Array(data.numberOfFrames);
          data.copyTo(plane, { planeIndex: c, format: 'f32-planar' });
          planes.push(from ? plane.subarray(from) : plane);
        }
        onAudio(planes);
      } catch (error) {
        failure ??= error;
      } finally {
        data.close();
      }
    },
    error: error => { failure ??= error; },
  });
  try {
    const frames = new Frames();
    const reader = response.body.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      for (const frame of frames.cut(read.value)) {
        if (decoder.state === 'unconfigured') {
          decoder.configure({ codec: 'mp3', sampleRate: frame.sampleRate, numberOfChannels: frame.channels });
          if (frame.tag) continue;
        }
        decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: frame.at, data: frame.bytes }));
      }
      if (failure) throw failure;
    }
    if (decoder.state === 'configured') await decoder.flush();
    if (failure) throw failure;
  } finally {
    if (decoder.state !== 'closed') decoder.close();
  }
}

// Cuts a byte stream into MPEG audio layer III frames: a frame's header gives its length, so a frame is complete
// once that many bytes are there. An ID3v2 tag at the start is passed over; bytes that are no frame header are
// skipped until one is found.
class Frames {
  #bytes = new Uint8Array(0);
  #first = true;
  #samples = 0;

  *cut(chunk) {
    const bytes = new Uint8Array(this.#bytes.length + chunk.length);
    bytes.set(this.#bytes);
    bytes.set(chunk, this.#bytes.length);
    let at = 0;
    if (this.#first && bytes.length >= 10 && bytes[0] === 0x49 && bytes[1] === 0x44 && bytes[2] === 0x33) { // "ID3"
      const size = 10 + ((bytes[6] << 21) | (bytes[7] << 14) | (bytes[8] << 7) | bytes[9]);
      if (bytes.length < size) {
        this.#bytes = bytes;
        return;
      }
      at = size;
    }
    while (at + 4 <= bytes.length) {
      const header = parseHeader(bytes, at);
      if (!header) {
        at++;
        continue;
      }
      if (at + header.length > bytes.length) break;
      const frame = bytes.slice(at, at + header.length);
      yield {
        ...header, bytes: frame, tag: this.#first && isTag(frame, header),
        at: Math.round(this.#samples / header.sampleRate * 1e6), // the timestamp, in microseconds
      };
      this.#first = false;
      this.#samples += header.samples;
      at += header.length;
    }
    this.#bytes = bytes.slice(at);
  }
}

function parseHeader(b, i) {
  if (b[i] !== 0xff || (b[i + 1] & 0xe0) !== 0xe0) return null;
  const version = (b[i + 1] >> 3) & 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
  const layer = (b[i + 1] >> 1) & 3;   // 1: layer III
  const bitrate = b[i + 2] >> 4;
  const rate = (b[i + 2] >> 2) & 3;
  if (version === 1 || layer !== 1 || bitrate === 0 || bitrate === 15 || rate === 3) return null;
  const mpeg1 = version === 3;
  const sampleRate = [44100, 48000, 32000][rate] / (mpeg1 ? 1 : version === 2 ? 2 : 4);
  const samples = mpeg1 ? 1152 : 576;
  const kbps = BITRATES[mpeg1 ? 'mpeg1' : 'mpeg2'][bitrate];
  const channels = b[i + 3] >> 6 === 3 ? 1 : 2;
  const length = Math.floor(samples / 8 * kbps * 1000 / sampleRate) + ((b[i + 2] >> 1) & 1);
  const sideInfo = (mpeg1 ? (channels === 1 ? 17 : 32) : (channels === 1 ? 9 : 17)) + ((b[i + 1] & 1) ? 0 : 2);
  return { sampleRate, samples, channels, length, sideInfo };
}

// The LAME tag: "Xing" or "Info" after the side information once the stem is complete, and all zeros while it grows.
function isTag(frame, header) {
  const id = String.fromCharCode(...frame.subarray(4 + header.sideInfo, 8 + header.sideInfo));
  return id === 'Xing' || id === 'Info' || frame.subarray(4).every(b => b === 0);
}
