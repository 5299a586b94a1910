import { useState } from 'preact/hooks';
import { canEdit, isLeader } from '../core/session';
import { MAX_BPM, MIN_BPM, bpmText, parseMeter, tempoFromBpm } from '../core/timeline';
import { exportSet, importFiles } from '../doc/library';
import { addSong, deleteSong, meterFields, meterLabel, moveSong, newSongId, songMeter, updateSong, type Song } from '../doc/setlist';
import { flowProblem } from '../wasm/flow';
import { coreInfo } from '../wasm/api';
import { download, useApp, useAppState } from './ctx';

interface Draft {
  title: string;
  key: string;
  tempo: string;
  meter: string;
  notes: string;
  midi: string;
  flow: string;
}

const emptyDraft: Draft = { title: '', key: '', tempo: '', meter: '4/4', notes: '', midi: '', flow: '' };

function draftOf(s: Song): Draft {
  return { title: s.title, key: s.key, tempo: s.tempo === null ? '' : bpmText(s.tempo), meter: s.meter, notes: s.notes, midi: s.midi, flow: s.flow };
}

/** Checks a draft; returns the song fields or a sentence about what is wrong. */
function fieldsOf(d: Draft): Omit<Song, 'id'> | string {
  const title = d.title.trim();
  if (!title) return 'A song needs a title';
  const tempo = d.tempo.trim() ? tempoFromBpm(Number(d.tempo.replace(',', '.'))) : null;
  if (d.tempo.trim() && tempo === null) return `Tempo must be ${MIN_BPM} to ${MAX_BPM} BPM`;
  let meter = { meter: '' };
  if (d.meter.trim()) {
    const m = parseMeter(d.meter);
    if (!m) return `“${d.meter}” is not a meter (try 4/4, 7/8 or 7/8 3+2+2)`;
    meter = meterFields(m);
  }
  const flow = d.flow.trim();
  const problem = flow ? flowProblem(flow) : null;
  if (problem) return `Flow: ${problem}`;
  return { title, key: d.key.trim(), tempo, ...meter, notes: d.notes.trim(), midi: d.midi.trim(), flow };
}

function SongForm(props: { initial: Draft; submit: string; testid?: string; onSubmit: (f: Omit<Song, 'id'>) => void; onCancel?: () => void }) {
  const app = useApp();
  const [d, setD] = useState(props.initial);
  const set = (k: keyof Draft) => (e: Event) => setD({ ...d, [k]: (e.target as HTMLInputElement).value });
  return (
    <form
      class="song-form"
      onSubmit={(e) => {
        e.preventDefault();
        const f = fieldsOf(d);
        if (typeof f === 'string') {
          app.toast(f);
          return;
        }
        props.onSubmit(f);
        setD(props.initial);
      }}
    >
      <input class="grow" data-testid="song-title" placeholder="Title" value={d.title} onInput={set('title')} maxLength={120} />
      <input class="tiny" data-testid="song-key" placeholder="Key" value={d.key} onInput={set('key')} maxLength={8} />
      <input class="tiny" data-testid="song-tempo" placeholder="BPM" inputMode="decimal" value={d.tempo} onInput={set('tempo')} />
      <input class="tiny" data-testid="song-meter" placeholder="4/4" value={d.meter} onInput={set('meter')} />
      <input class="grow" data-testid="song-notes" placeholder="Notes" value={d.notes} onInput={set('notes')} />
      <input class="grow" data-testid="song-midi" placeholder="MIDI: pc 5; cc 7 100" title="Sent to MIDI gear on the song's first bar: pc N, cc N V, bank MSB:LSB, @channel" value={d.midi} onInput={set('midi')} />
      <input class="grow" data-testid="song-flow" placeholder="Flow: Intro 4, V1 16, C 8" title="The song's parts and their bars: the stage view follows them on the shared bar" value={d.flow} onInput={set('flow')} />
      <button type="submit" class="primary" data-testid={props.testid}>
        {props.submit}
      </button>
      {props.onCancel && (
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      )}
    </form>
  );
}

export function Setlist() {
  const app = useApp();
  const songs = useAppState((s) => s.songs);
  // `undefined` out of a session.
  const name = useAppState((s) => s.session?.name);
  const playing = useAppState((s) => s.session?.song);
  const lead = useAppState((s) => !!s.session && isLeader(s.session));
  const editable = useAppState((s) => !!s.session && canEdit(s.session));
  const viewSong = useAppState((s) => s.viewSong);
  const [editing, setEditing] = useState<string | null>(null);
  if (name === undefined) return null;
  const doc = app.docs?.doc;

  return (
    <section class="card" id="setlist" aria-label="Setlist">
      <h2>
        Setlist <span class="muted small">{songs.length} {songs.length === 1 ? 'song' : 'songs'}</span>
      </h2>
      {lead && songs.length > 0 && <p class="hint">Tap a song to call it: its chart opens for everyone and its tempo and meter land on the next bar.</p>}
      <ol class="plain setlist" data-testid="setlist">
        {songs.map((s, i) => {
          const current = playing === s.id;
          const m = songMeter(s);
          if (editing === s.id && doc) {
            return (
              <li key={s.id} class="song editing" data-testid="song" data-id={s.id} data-current={String(current)}>
                <SongForm
                  initial={draftOf(s)}
                  submit="Save"
                  testid="song-save"
                  onSubmit={(f) => {
                    updateSong(doc, s.id, f);
                    setEditing(null);
                  }}
                  onCancel={() => setEditing(null)}
                />
              </li>
            );
          }
          return (
            <li
              key={s.id}
              class={`song ${current ? 'current' : ''} ${viewSong === s.id ? 'viewing' : ''}`}
              data-testid="song"
              data-id={s.id}
              data-current={String(current)}
            >
              <button class="song-main" onClick={() => void app.selectSong(s)} title={lead ? 'Call this song' : 'Show its chart'}>
                <span class="song-n">{i + 1}</span>
                <span class="song-title">{s.title}</span>
                <span class="song-meta">
                  {s.key && <span class="chip">{s.key}</span>}
                  {s.tempo !== null && <span class="chip">{bpmText(s.tempo)} BPM</span>}
                  {m && <span class="chip">{meterLabel(s)}</span>}
                  {current && <span class="badge lead">now</span>}
                </span>
                {s.flow && <span class="song-notes muted small">{s.flow}</span>}
                {s.notes && <span class="song-notes muted small">{s.notes}</span>}
              </button>
              {editable && doc && (
                <span class="song-actions">
                  <button class="square" aria-label="Move up" disabled={i === 0} onClick={() => moveSong(doc, s.id, i - 1)}>
                    ↑
                  </button>
                  <button class="square" aria-label="Move down" disabled={i === songs.length - 1} onClick={() => moveSong(doc, s.id, i + 1)}>
                    ↓
                  </button>
                  <button class="square" aria-label="Edit" data-testid="song-edit" onClick={() => setEditing(s.id)}>
                    ✎
                  </button>
                  <button
                    class="square danger"
                    aria-label="Delete"
                    data-testid="song-delete"
                    onClick={() => {
                      if (confirm(`Delete “${s.title}” and its chart? A saved version can bring it back.`)) deleteSong(doc, s.id);
                    }}
                  >
                    ✕
                  </button>
                </span>
              )}
            </li>
          );
        })}
        {songs.length === 0 && <li class="muted">No songs yet.</li>}
      </ol>
      {editable && doc && (
        <SongForm
          initial={emptyDraft}
          submit="Add song"
          testid="song-add"
          onSubmit={(f) => {
            const id = newSongId();
            addSong(doc, { id, ...f });
            // You added it, so you probably want to write its chart next (only your view moves).
            app.viewChart(id);
          }}
        />
      )}
      {doc && (
        // The band's library: ChordPro files, or a folder of them, into the setlist (editors); the
        // set out as one file. A button opens its hidden file input's picker.
        <div class="row wrap library">
          {editable &&
            [false, true].map((folder) => (
              <>
                <button class="small-btn" onClick={(e) => (e.currentTarget.nextSibling as HTMLInputElement).click()}>
                  {folder ? 'Import folder' : 'Import .cho'}
                </button>
                <input
                  type="file"
                  hidden
                  multiple
                  accept={coreInfo().extensions.map((x) => `.${x}`).join()}
                  {...{ webkitdirectory: folder }}
                  data-testid={folder ? 'import-folder' : 'import-files'}
                  onChange={async (e) => {
                    const input = e.currentTarget;
                    const n = await importFiles(doc, input.files ?? []);
                    input.value = '';
                    app.toast(`Imported ${n} ${n === 1 ? 'song' : 'songs'}`, 'info');
                  }}
                />
              </>
            ))}
          {songs.length > 0 && (
            <button class="small-btn" data-testid="download-set" onClick={() => download(`${name}.cho`, 'text/plain', exportSet(doc, songs))}>
              Download set
            </button>
          )}
        </div>
      )}
      {!editable && <p class="hint">You are a viewer: the leader can let you edit.</p>}
    </section>
  );
}
