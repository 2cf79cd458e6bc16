// The service's REST API (same origin). Every refusal becomes an ApiError carrying the service's own reason. Where the
// service tells clients apart, the browser's sign-in (an HttpOnly cookie the service set) goes with every request by
// itself, the status events and download links included; a 401 means it has ended, and is told to the page as a
// "msaas:signed-out" event with the service's reason.

export const STEMS = ['drums', 'bass', 'other', 'vocals'];

export class ApiError extends Error {
  /** invalid: a 401 for a credential that came and does not hold (an ended sign-in), not for none at all (RFC 6750). */
  constructor(reason, status, invalid = false) {
    super(reason);
    this.status = status;
    this.invalid = invalid;
  }
}

function refused(reason, status, quiet = false, challenge = null) {
  if (status === 401 && !quiet) dispatchEvent(new CustomEvent('msaas:signed-out', { detail: reason }));
  return new ApiError(reason, status, /error="invalid_token"/.test(challenge ?? ''));
}

async function answer(response, quiet = false) {
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw refused(body?.reason ?? `the service answered ${response.status}`, response.status, quiet, response.headers.get('WWW-Authenticate'));
  }
  return body;
}

const get = (url, headers = {}, quiet = false) => fetch(url, { headers }).then(r => answer(r, quiet));

/** Sends a file as multipart (field "mp3"); onProgress gets 0..1 as it uploads. Resolves to {hash, reason, ...}. */
export function upload(file, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', '/apiv1/separate');
    request.responseType = 'json';
    request.upload.onprogress = e => e.lengthComputable && onProgress(e.loaded / e.total);
    request.onload = () => request.status === 200
      ? resolve(request.response)
      : reject(refused(request.response?.reason ?? `the service answered ${request.status}`, request.status));
    request.onerror = () => reject(new ApiError('the upload was cut off: the service is unreachable, or refused a file this large', 0));
    const form = new FormData();
    form.append('mp3', file, file.name);
    request.send(form);
  });
}

/**
 * Who may use the service and who this browser is: {access: "anonymous"|"keys"|"both", client, signedIn}. Where a key
 * is needed and this browser has no sign-in, the ApiError has status 401 (and no event is sent: the caller asked).
 */
export const session = () => fetch('/apiv1/session', { cache: 'no-store' }).then(r => answer(r, true));
/** Signs this browser in with a client's key, sent once in a header; the service answers with its sign-in cookie. */
export const signIn = key => fetch('/apiv1/session', { method: 'POST', headers: { Authorization: `Bearer ${key}` } }).then(r => answer(r, true));
export const signOut = () => fetch('/apiv1/session', { method: 'DELETE' }).then(r => answer(r, true));

export const status = hash => get(`/apiv1/status/${hash}`);
export const queue = () => get('/apiv1/queue').then(r => r.queue);
export const remove = hash => fetch(`/apiv1/remove/${hash}`, { method: 'DELETE' }).then(answer);
export const trackUrl = (hash, stem) => `/apiv1/track/${hash}/${stem}`;
export const isDone = s => s.state === 'Completed' || s.state === 'Failed';

/** The mix route for gains by stem name (0 to 2); stems left out keep gain 1. */
export function mixUrl(hash, gains) {
  const query = new URLSearchParams(Object.entries(gains).map(([stem, gain]) => [stem, String(Math.round(gain * 100) / 100)]));
  return `/apiv1/mix/${hash}?${query}`;
}

/**
 * Fetches a mix, made by the service on the first request (seconds): resolves to {blob, name}, the name the service
 * gives the file. A refusal (as many mixes as the service makes at once are being made, the song gone) is an ApiError.
 */
export async function mix(url) {
  const response = await fetch(url);
  if (!response.ok) await answer(response);
  const name = /filename="?([^";]+)"?/.exec(response.headers.get('Content-Disposition') ?? '')?.[1] ?? 'mix.mp3';
  return { blob: await response.blob(), name };
}

/**
 * Follows a song's status events until it is completed or failed: onStatus(status) at each change, onGone(error)
 * if the service does not know the song. Before its saga exists (just uploaded) the stream is refused: the status is
 * looked at and the stream tried again a moment later. Returns a function that stops following.
 */
export function follow(hash, onStatus, onGone) {
  let source = null;
  let timer = 0;
  let stopped = false;
  const stop = () => {
    stopped = true;
    source?.close();
    clearTimeout(timer);
  };
  const deliver = s => {
    if (stopped) return;
    onStatus(s);
    if (isDone(s)) stop();
  };
  const open = () => {
    if (stopped) return;
    source = new EventSource(`/apiv1/status/${hash}/events`);
    source.addEventListener('status', e => deliver(JSON.parse(e.data)));
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED) return; // the browser reconnects by itself
      status(hash).then(s => {
        deliver(s);
        if (!isDone(s)) timer = setTimeout(open, 1000);
      }, error => {
        if (error.status === 404) onGone(error);
        else timer = setTimeout(open, 3000);
      });
    };
  };
  open();
  return stop;
}

/** The support routes, behind the X-Api-Key header: a 401 there is about the support key, not the sign-in. */
export const support = {
  songs: (key, filters) => {
    const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
    return get(`/apiv1/support/songs?${query}`, { 'X-Api-Key': key }, true);
  },
  song: (key, hash) => get(`/apiv1/support/songs/${hash}`, { 'X-Api-Key': key }, true),
  retry: (key, hash) => fetch(`/apiv1/support/songs/${hash}/retry`, { method: 'POST', headers: { 'X-Api-Key': key } }).then(r => answer(r, true)),
};
