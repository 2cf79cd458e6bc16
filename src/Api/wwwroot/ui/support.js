// The support view: songs by state and age, one song's saga and history, a retry for a failed song. The API key
// is kept in sessionStorage: it stays in this tab and goes when the tab does.
import { support } from './api.js';

const $ = id => document.getElementById(id);
const key = () => $('support-key').value.trim();
const when = iso => new Date(iso).toLocaleString();
const say = text => { $('support-status').textContent = text; };

function cell(content) {
  const td = document.createElement('td');
  td.append(content);
  return td;
}

function button(text, label, action) {
  const b = Object.assign(document.createElement('button'), { type: 'button', className: 'small', textContent: text });
  b.setAttribute('aria-label', label);
  b.addEventListener('click', action);
  return b;
}

async function lookUp() {
  say('Looking…');
  try {
    const songs = await support.songs(key(), {
      state: $('support-state').value, olderThan: $('support-older').value.trim(), newerThan: $('support-newer').value.trim(),
    });
    $('support-songs').hidden = songs.length === 0;
    $('support-songs').tBodies[0].replaceChildren(...songs.map(song => {
      const row = document.createElement('tr');
      const name = `song ${song.hash.slice(0, 12)}`;
      const actions = cell(button('History', `History of ${name}`, () => history(song.hash)));
      if (song.state === 'Failed') actions.append(' ', button('Retry', `Retry ${name}`, () => retry(song.hash)));
      row.append(cell(Object.assign(document.createElement('code'), { textContent: `${song.hash.slice(0, 12)}…`, title: song.hash })),
        cell(song.state), cell(`${song.progress} %`), cell(when(song.updatedAt)), cell(song.error ?? ''), actions);
      return row;
    }));
    say(songs.length === 1 ? '1 song.' : `${songs.length} songs.`);
  } catch (error) {
    $('support-songs').hidden = true;
    say(`Refused: ${error.message}.`);
  }
}

async function history(hash) {
  try {
    const song = await support.song(key(), hash);
    const facts = {
      Song: song.songHash, State: song.currentState, Source: song.source, Model: song.model, Created: when(song.createdAt),
      Updated: when(song.updatedAt), 'Separation attempts': song.separationAttempts, 'Encoding attempts': song.encodingAttempts,
      'Failed in': song.failedStage, Error: song.lastError, Webhooks: song.callbacks?.length ?? 0,
    };
    $('saga-facts').replaceChildren(...Object.entries(facts).filter(([, v]) => v !== undefined && v !== null && v !== '')
      .flatMap(([k, v]) => [Object.assign(document.createElement('dt'), { textContent: k }), Object.assign(document.createElement('dd'), { textContent: v })]));
    $('saga-history').replaceChildren(...song.history.map(h =>
      Object.assign(document.createElement('li'), { textContent: `${when(h.at)}: ${h.state}, ${h.what}` })));
    $('saga').hidden = false;
    $('saga-title').textContent = `History of song ${hash.slice(0, 12)}…`;
    $('saga-title').focus();
  } catch (error) {
    say(`No history: ${error.message}.`);
  }
}

async function retry(hash) {
  try {
    await support.retry(key(), hash);
    await lookUp();
    say(`Song ${hash.slice(0, 12)}… is being tried again.`);
  } catch (error) {
    say(`Not retried: ${error.message}.`);
  }
}

export function initSupport() {
  $('support-key').value = sessionStorage.getItem('msaas.supportKey') ?? '';
  $('support-form').addEventListener('submit', event => {
    event.preventDefault();
    sessionStorage.setItem('msaas.supportKey', key());
    lookUp();
  });
}
