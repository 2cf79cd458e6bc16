// The page: send a song, follow it, play and mix its stems, download them; the songs this browser sent and the
// service's queue. Views by address: #/ (songs), #/song/<hash> (one song open), #/support.
import * as api from './api.js';
import { Player } from './player.js';
import { Waveform, COLOURS, clock } from './wave.js';
import { initSupport } from './support.js';

const $ = id => document.getElementById(id);
const maxBytes = Number(document.body.dataset.maxBytes) || Infinity;
const mebibytes = bytes => `${(bytes / 1048576).toFixed(bytes < 10485760 ? 1 : 0)} MiB`;
const capital = word => word[0].toUpperCase() + word.slice(1);

// For the browser's console (and the page's tests): the open song's player.
window.msaas = { player: null };

// Whether this browser plays a song while it is separated (it decodes MP3 with WebCodecs): known a moment after start.
let canLive = false;
Player.canStream().then(yes => { canLive = yes; });
// The separation's share of a song's progress (0 to 90 % while it is separated).
const SEPARATED = 90;
// Live starts for one opening of a song: a stream is broken off when another worker separates the song over again.
const LIVE_TRIES = 3;

// ---- Who this browser is, where the service tells clients apart ----

// {access: "anonymous" | "keys" | "both", client, signedIn}: "keys" and not signed in locks the page until a key is given.
let session = { access: 'anonymous', client: null, signedIn: false };
let signInAsked = false; // the sign-in was opened by hand (under "both", where it is not needed)
const locked = () => document.body.classList.contains('locked');

async function checkSession(reason = null) {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      session = await api.session();
      break;
    } catch (error) {
      if (error.status !== 401) break; // the service unreachable: as it was
      session = { access: 'keys', client: null, signedIn: false };
      // A sign-in that has ended is refused once, with why, and its cookie dropped: asked again, the service says
      // whether this browser may go on without a key ("both") or needs one ("keys").
      if (attempt > 0 || !error.invalid) break;
      reason ??= error.message;
    }
  }
  renderSession(reason);
}

function renderSession(reason = null) {
  const { access, client, signedIn } = session;
  const locked = access === 'keys' && !signedIn;
  document.body.classList.toggle('locked', locked);
  $('who').hidden = access === 'anonymous' || locked;
  $('who-name').textContent = signedIn ? `Signed in as ${client}` : 'Not signed in';
  $('sign-out').hidden = !signedIn;
  $('sign-in-show').hidden = signedIn;
  if (signedIn) signInAsked = false;
  $('sign-in').hidden = signedIn || !(locked || reason || signInAsked);
  $('sign-in-why').textContent = reason ? `${capital(reason)}.`
    : locked ? 'This service separates songs for its clients: sign in with the key you were given.'
      : 'Sign in with a client key to separate songs as that client; without one, songs are sent anonymously.';
  if (locked) closeSong();
  renderMine();
}

$('sign-in-form').addEventListener('submit', async event => {
  event.preventDefault();
  const input = $('client-key');
  $('sign-in-status').textContent = 'Signing in…';
  try {
    session = await api.signIn(input.value.trim());
    input.value = '';
    $('sign-in-status').textContent = '';
    renderSession();
    route();
    look();
  } catch (error) {
    $('sign-in-status').textContent = `Not signed in: ${error.message}.`;
  }
});

$('sign-out').addEventListener('click', async () => {
  await api.signOut().catch(() => null); // an ended sign-in is dropped all the same
  closeSong();
  location.hash = '#/';
  await checkSession();
  route();
  look();
});

$('sign-in-show').addEventListener('click', () => {
  signInAsked = true;
  renderSession();
  $('client-key').focus();
});

// A request refused for want of a working sign-in (the key replaced, the client removed): the page asks again.
addEventListener('msaas:signed-out', event => checkSession(event.detail));

// ---- The songs this browser sent, newest first (localStorage; one list per client signed in) ----

const mine = {
  key: () => session.signedIn ? `msaas.songs:${session.client}` : 'msaas.songs',
  list() {
    try {
      return JSON.parse(localStorage.getItem(mine.key())) ?? [];
    } catch {
      return []; // not written by this page: start again
    }
  },
  save(list) {
    localStorage.setItem(mine.key(), JSON.stringify(list.slice(0, 50)));
    renderMine();
  },
  add: song => mine.save([song, ...mine.list().filter(s => s.hash !== song.hash)]),
  update(hash, fields) {
    const list = mine.list();
    const song = list.find(s => s.hash === hash);
    if (song && Object.entries(fields).some(([k, v]) => song[k] !== v)) mine.save(list.map(s => s === song ? { ...s, ...fields } : s));
  },
  drop: hash => mine.save(mine.list().filter(s => s.hash !== hash)),
  find: hash => mine.list().find(s => s.hash === hash),
  name: hash => mine.find(hash)?.name,
};

const STATES = { Submitted: 'queued', Separating: 'separating', Encoding: 'encoding', Notifying: 'done', Completed: 'done', Failed: 'failed', Gone: 'removed' };

function renderMine() {
  const list = mine.list();
  $('my-songs-empty').hidden = list.length > 0;
  $('my-songs').replaceChildren(...list.map(song => {
    const item = document.createElement('li');
    const link = Object.assign(document.createElement('a'), { href: `#/song/${song.hash}`, textContent: song.name });
    if (current?.hash === song.hash) link.setAttribute('aria-current', 'true');
    const state = Object.assign(document.createElement('span'), { className: `state ${song.state ?? ''}`, textContent: STATES[song.state] ?? '…' });
    item.append(link, ' ', state);
    if (song.state === 'Gone' || song.state === 'Failed') {
      const forget = Object.assign(document.createElement('button'), { type: 'button', className: 'small', textContent: 'Forget' });
      forget.setAttribute('aria-label', `Forget ${song.name} (this browser's list only)`);
      forget.onclick = () => mine.drop(song.hash);
      item.append(' ', forget);
    }
    return item;
  }));
}

// ---- The service's queue and the states of this browser's songs, looked at every 5 s ----

let queue = [];

async function look() {
  if (document.hidden || locked()) return;
  try {
    queue = await api.queue();
    $('queue-empty').hidden = queue.length > 0;
    $('queue').replaceChildren(...queue.map(hash => {
      const item = document.createElement('li');
      const name = mine.name(hash);
      item.append(name
        ? Object.assign(document.createElement('a'), { href: `#/song/${hash}`, textContent: name })
        : Object.assign(document.createElement('code'), { textContent: `${hash.slice(0, 12)}…`, title: hash }));
      return item;
    }));
  } catch {
    // the next look tries again
  }
  for (const song of mine.list().filter(s => !['Completed', 'Failed', 'Gone'].includes(s.state) && s.hash !== current?.hash)) {
    api.status(song.hash).then(s => mine.update(song.hash, { state: s.state }),
      e => e.status === 404 && mine.update(song.hash, { state: 'Gone' }));
  }
}

// ---- Sending a song ----

async function send(file) {
  const say = text => { $('upload-status').textContent = text; };
  if (file.size > maxBytes) {
    say(`${file.name} is ${mebibytes(file.size)}: this service takes songs up to ${mebibytes(maxBytes)}.`);
    return;
  }
  const bar = $('upload-progress');
  bar.hidden = false;
  say(`Sending ${file.name}…`);
  const seconds = lengthOf(file);
  try {
    const reply = await api.upload(file, share => { bar.value = share; });
    mine.add({ hash: reply.hash, name: file.name, sentAt: new Date().toISOString(), state: 'Submitted', seconds: await seconds });
    say(`${file.name}: ${reply.reason}.`);
    location.hash = `#/song/${reply.hash}`;
  } catch (error) {
    say(`${file.name} was refused: ${error.message}.`);
  } finally {
    bar.hidden = true;
    $('file').value = '';
  }
}

// The length of a song file as this browser reads it (from its metadata, in a moment), or null where it cannot: the
// length of a song played while it is separated, before the service knows it.
function lengthOf(file) {
  return new Promise(resolve => {
    const audio = new Audio();
    const url = URL.createObjectURL(file);
    const done = seconds => {
      URL.revokeObjectURL(url);
      resolve(Number.isFinite(seconds) && seconds > 0 ? seconds : null);
    };
    audio.preload = 'metadata';
    audio.onloadedmetadata = () => done(audio.duration);
    audio.onerror = () => done(null);
    setTimeout(() => done(null), 5000);
    audio.src = url;
  });
}

$('limit').textContent = Number.isFinite(maxBytes) ? mebibytes(maxBytes) : 'the service\'s limit';
$('file').addEventListener('change', e => e.target.files[0] && send(e.target.files[0]));
const drop = $('drop');
addEventListener('dragover', e => e.preventDefault()); // a file dropped beside the zone must not replace the page
addEventListener('drop', e => e.preventDefault());
drop.addEventListener('dragover', () => drop.classList.add('over'));
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', e => {
  drop.classList.remove('over');
  if (e.dataTransfer.files[0]) send(e.dataTransfer.files[0]);
});

// ---- The open song: its progress, then its player ----

let current = null; // { hash, state, status, stop, player, wave, seen: [{at, progress}], frame, finished, liveTries, resume }

function openSong(hash) {
  if (current?.hash === hash) return;
  closeSong();
  const song = current = { hash, seen: [], liveTries: 0 };
  $('song').hidden = false;
  $('intro').hidden = true;
  $('player').hidden = true;
  $('player').classList.remove('downloads-only', 'live');
  $('song-title').textContent = mine.name(hash) ?? `Song ${hash.slice(0, 12)}…`;
  $('song-hash').textContent = hash;
  $('song-progress').value = 0;
  $('song-phase').textContent = 'Looking the song up…';
  $('remove').hidden = true;
  song.stop = api.follow(hash, s => current === song && show(song, s), error => {
    if (current !== song) return;
    $('song-phase').textContent = `The service does not hold this song (any more): ${error.message}.`;
    $('remove').hidden = true;
    mine.update(hash, { state: 'Gone' });
  });
  renderMine();
  $('song-title').focus();
}

function closeSong() {
  if (!current) return;
  current.stop();
  dropPlayer(current);
  current = window.msaas.player = null;
  $('song').hidden = true;
  $('intro').hidden = false;
  renderMine();
}

function show(song, s) {
  mine.update(song.hash, { state: s.state });
  if (s.state !== song.state) look(); // the queue has changed too
  song.state = s.state;
  song.status = s;
  $('song-progress').value = s.progress;
  $('song-phase').textContent = phase(song, s);
  $('remove').hidden = !s.stems; // nothing to remove before the stems exist (or after a failure)
  const done = s.stems && api.STEMS.every(n => s.stems[n]);
  if (song.player?.live) {
    if (done) finishLive(song, s);
    else song.player.estimate = estimate(song, s);
  } else if (!song.player && done) {
    loadPlayer(song, s.stems);
  } else if (!song.player && canLive && s.state === 'Separating' && s.liveSeconds > 0 && s.live && song.liveTries < LIVE_TRIES) {
    playLive(song, s);
  }
}

// The song's length while it is separated: the service's, once a worker has decoded the song; before that the file's,
// as this browser read it when it sent the song; else guessed from the progress (what every stem has is about the
// share of the song the progress says, a little less).
function estimate(song, s) {
  return s.durationSeconds ?? mine.find(song.hash)?.seconds ??
    (s.progress > 0 ? s.liveSeconds * SEPARATED / Math.min(s.progress, SEPARATED) : 0);
}

function phase(song, s) {
  switch (s.state) {
    case 'Submitted':
    case 'Separating': {
      if (s.progress === 0) {
        const ahead = queue.indexOf(song.hash);
        return ahead > 0 ? `Queued: ${ahead} song${ahead > 1 ? 's' : ''} ahead.` : 'Queued: the separation starts in a moment.';
      }
      return `Separating: ${s.progress} %${timeLeft(song, s.progress)}.`;
    }
    case 'Encoding': return `Encoding the stems to MP3: ${s.progress} %.`;
    case 'Notifying': return 'Done (the webhook is being called).';
    case 'Completed': return 'Done.';
    case 'Failed': return `Failed in ${s.stage}: ${s.error ?? 'no reason given'}.`;
    default: return s.state;
  }
}

// From the rate the progress has moved at since this page first saw it move.
function timeLeft(song, progress) {
  if (song.seen.at(-1)?.progress !== progress) song.seen.push({ at: performance.now(), progress });
  const [first, last] = [song.seen[0], song.seen.at(-1)];
  if (song.seen.length < 2) return ', working out the time left';
  const rate = (last.progress - first.progress) / (last.at - first.at); // percent per millisecond
  return `, about ${clock(Math.max(1, (100 - progress) / rate / 1000))} left`;
}

async function loadPlayer(song, stems) {
  const player = song.player = new Player();
  $('song-phase').textContent = 'Done. Fetching the stems: 0 of 4…';
  try {
    await player.load(Object.fromEntries(api.STEMS.map(n => [n, stems[n]])), n => {
      if (current === song) $('song-phase').textContent = `Done. Fetching the stems: ${n} of 4…`;
    });
  } catch (error) {
    if (current !== song) return;
    $('song-phase').textContent = `Done, but the stems could not be played here (${error.message}); they can still be downloaded.`;
    showDownloads(song);
    return;
  }
  if (current !== song) return;
  $('song-phase').textContent = 'Done.';
  showPlayer(song);
  setMixLinks(song);
}

// While the song is separated: its live streams, playable from their first seconds on; the mixes and the stems'
// downloads wait for the complete stems.
function playLive(song, s) {
  const player = song.player = new Player();
  song.liveTries++;
  player.estimate = estimate(song, s);
  player.stream(Object.fromEntries(api.STEMS.map(n => [n, s.live[n]]))).catch(() => {
    if (song.player !== player) return; // let go of already: another song
    // Broken off: another worker separates the song over again (or it failed, or its audio cannot be played here). The
    // page starts again from the latest status a moment later, playing on if it was playing.
    song.resume = player.playing;
    dropPlayer(song);
    setTimeout(() => current === song && !song.player && show(song, song.status), 1000);
  });
  $('player').classList.add('live');
  showPlayer(song);
  if (song.resume) player.play();
  song.resume = false;
}

// The stems are complete: the player has (or soon has) all of each, cut to the song's length, and the page is as for
// a song that was done when it was opened.
function finishLive(song, s) {
  if (song.finished) return;
  song.finished = true;
  song.player.finish(s.liveSeconds);
  $('player').classList.remove('live');
  setMixLinks(song);
}

function showPlayer(song) {
  const { player } = song;
  window.msaas.player = player;
  song.wave = new Waveform($('wave'), player);
  $('stems').replaceChildren(...player.stems.map(stem => stemRow(song, stem)));
  player.addEventListener('change', () => song.player === player && refresh(song));
  $('player').hidden = false;
  refresh(song);
}

function dropPlayer(song) {
  song.player?.close();
  song.wave?.close();
  cancelAnimationFrame(song.frame);
  song.player = song.wave = null;
  song.finished = false;
  if (current !== song) return;
  window.msaas.player = null;
  $('player').hidden = true;
  $('player').classList.remove('live');
}

// Where the stems cannot be decoded here (a long song on a phone runs out of memory): no player, but the stems and the
// two usual mixes still download.
function showDownloads(song) {
  $('stems').replaceChildren(...api.STEMS.map(name => {
    const row = document.createElement('li');
    row.className = 'stem-download';
    row.dataset.stem = name;
    const link = document.createElement('a');
    link.className = 'button download';
    link.href = api.trackUrl(song.hash, name);
    link.download = '';
    link.textContent = `Download ${name} (MP3)`;
    row.append(link);
    return row;
  }));
  setMixLinks(song);
  $('player').classList.add('downloads-only');
  $('player').hidden = false;
}

function setMixLinks(song) {
  $('mix-status').textContent = '';
  $('mix-instrumental').href = api.mixUrl(song.hash, { vocals: 0 });
  $('mix-vocals').href = api.mixUrl(song.hash, { drums: 0, bass: 0, other: 0 });
}

function stemRow(song, stem) {
  const row = $('stem-row').content.firstElementChild.cloneNode(true);
  const name = capital(stem.name);
  row.dataset.stem = stem.name;
  row.querySelector('.swatch').style.background = COLOURS[stem.name];
  row.querySelector('.name').textContent = name;
  row.querySelector('.volume span').textContent = `${name} volume`;
  const volume = row.querySelector('input');
  volume.addEventListener('input', () => {
    song.player.set(stem.name, { volume: Number(volume.value) });
    row.querySelector('output').textContent = `${Math.round(volume.value * 100)} %`;
  });
  for (const [button, setting] of [[row.querySelector('.mute'), 'muted'], [row.querySelector('.solo'), 'solo']]) {
    button.setAttribute('aria-label', `${button.textContent} ${stem.name}`);
    button.addEventListener('click', () => {
      const on = button.getAttribute('aria-pressed') !== 'true';
      button.setAttribute('aria-pressed', String(on));
      song.player.set(stem.name, { [setting]: on });
    });
  }
  const download = row.querySelector('.download');
  download.href = api.trackUrl(song.hash, stem.name);
  download.setAttribute('aria-label', `Download ${stem.name} (MP3)`);
  return row;
}

// After any change of the player: the transport, the waveform, what has arrived, the mix link; redrawn each frame
// while playing.
function refresh(song) {
  const { player } = song;
  const about = player.exact ? '' : 'about ';
  $('play').textContent = player.playing ? 'Pause' : 'Play';
  $('play').disabled = player.arrived === 0 && !player.playing;
  $('time').textContent = `${clock(player.position)} / ${about}${clock(player.duration)}`;
  const waiting = !player.waiting ? '' : ['Submitted', 'Separating'].includes(song.state)
    ? 'Waiting for the separation…' : 'Waiting for the stems to arrive…';
  if ($('waiting').textContent !== waiting) $('waiting').textContent = waiting;
  $('arrival').hidden = player.complete;
  if (!player.complete) {
    const share = seconds => `${Math.min(100, 100 * seconds / (player.duration || 1)).toFixed(2)}%`;
    $('arrival').querySelector('.arrived').style.width = share(player.arrived);
    $('arrival').querySelector('.played').style.width = share(player.position);
    $('arrival-text').textContent = `${clock(player.arrived)} of ${about}${clock(player.duration)} separated`;
  }
  song.wave.draw();
  const levels = player.levels();
  for (const row of $('stems').children) row.classList.toggle('silent', levels[row.dataset.stem] === 0);
  const mix = $('mix-current');
  if (Object.values(levels).some(v => v > 0)) {
    mix.href = api.mixUrl(song.hash, levels);
    mix.removeAttribute('aria-disabled');
  } else {
    mix.removeAttribute('href');
    mix.setAttribute('aria-disabled', 'true');
  }
  cancelAnimationFrame(song.frame);
  if (player.playing) song.frame = requestAnimationFrame(() => current === song && refresh(song));
}

// A mix is made when first asked for: the links fetch it, so that the wait shows here and a refusal (the service busy
// with other mixes, the song gone) is said on the page instead of being saved as the file. A click with a modifier
// key is left to the browser (the link still works as a plain download).
const mixing = new Set(); // the mix URLs being fetched
for (const link of document.querySelectorAll('.mixes a')) link.addEventListener('click', saveMix);

async function saveMix(event) {
  if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  const link = event.currentTarget;
  const url = link.href;
  if (!link.hasAttribute('href') || mixing.has(url)) return;
  const song = current;
  const title = link.textContent;
  // Only about the song still open: the links are the same for every song.
  const say = text => { if (current === song) $('mix-status').textContent = text; };
  mixing.add(url);
  link.setAttribute('aria-busy', 'true');
  say(`Making “${title}” (a few seconds the first time)…`);
  try {
    const { blob, name } = await api.mix(url);
    const save = document.createElement('a');
    save.href = URL.createObjectURL(blob);
    save.download = name;
    save.click();
    setTimeout(() => URL.revokeObjectURL(save.href), 60_000);
    say(`Saved ${name}.`);
  } catch (error) {
    say(`${title}: not made: ${error.message}.`);
  } finally {
    mixing.delete(url);
    if (!mixing.has(link.href)) link.removeAttribute('aria-busy');
  }
}

$('play').addEventListener('click', () => current?.player && (current.player.playing ? current.player.pause() : current.player.play()));

$('remove').addEventListener('click', async () => {
  const song = current;
  if (!song || !confirm(`Remove ${$('song-title').textContent} and its stems from the service?`)) return;
  try {
    await api.remove(song.hash);
    mine.drop(song.hash);
    $('upload-status').textContent = `${$('song-title').textContent} was removed from the service.`;
    location.hash = '#/';
  } catch (error) {
    $('song-phase').textContent = `Not removed: ${error.message}.`;
  }
});

// ---- Views ----

function route() {
  const [, view, hash] = location.hash.split('/');
  const support = view === 'support';
  $('songs-view').hidden = support;
  $('support-view').hidden = !support;
  for (const [link, on] of [[$('nav-songs'), !support], [$('nav-support'), support]]) {
    if (on) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (support) {
    closeSong();
    $('support-title').focus();
  } else if (view === 'song' && /^[0-9a-f]{56}$/.test(hash ?? '') && !locked()) {
    openSong(hash);
  } else {
    closeSong();
  }
}

addEventListener('hashchange', route);
document.addEventListener('visibilitychange', look);
initSupport();
await checkSession();
route();
look();
setInterval(look, 5000);
