import { useEffect, useState } from 'preact/hooks';
import { forgetSession } from '../state/settings';
import { useApp, useAppState } from './ctx';

/** A session as the host's API shows it (`GET /api/sessions[/ID]`, the server's `SessionInfo`). */
interface HostSession {
  id: string;
  name: string;
  members: number;
  online: number;
}

export function Home() {
  const app = useApp();
  const runtime = useAppState((s) => s.runtime);
  const settings = useAppState((s) => s.settings);
  const recent = useAppState((s) => s.recent);
  const discovered = useAppState((s) => s.discovered);
  const discoveryOff = useAppState((s) => s.discoveryOff);
  const error = useAppState((s) => s.homeError);
  const busy = useAppState((s) => s.busy);
  const initial = app.initialTarget();
  const [target, setTarget] = useState(initial ? location.href : '');
  const [pin, setPin] = useState('');
  const [hostName, setHostName] = useState('');
  const [hostSessions, setHostSessions] = useState<HostSession[] | null>(null);
  const needsPin = initial !== null && initial.secret === null;
  // The page's own link carries its secret: no PIN to ask for.
  const linkSecret = initial?.secret != null && target === location.href;
  // The session the page's link names, as its host describes it (`false`: the host has no such session).
  const [invite, setInvite] = useState<HostSession | false | null>(null);

  useEffect(() => {
    if (runtime === 'tauri') app.startDiscovery();
  }, [runtime]);

  // A page from the host that was opened without a session (or a bare address): list the host's
  // sessions, for a PIN join.
  useEffect(() => {
    if (runtime !== 'browser' || initial) return;
    fetch('/api/sessions')
      .then((r) => (r.ok ? r.json() : null))
      .then((j: { sessions?: HostSession[] } | null) => setHostSessions(j?.sessions ?? null))
      .catch(() => setHostSessions(null));
  }, [runtime]);

  useEffect(() => {
    if (!initial) return;
    fetch(`${initial.origin}/api/sessions/${encodeURIComponent(initial.session)}`)
      .then((r) => (r.ok ? r.json() : r.status === 404 ? false : null))
      .then(setInvite, () => undefined);
  }, [initial?.session]);

  const join = (e?: Event) => {
    e?.preventDefault();
    void app.join(target, (!linkSecret && pin) || null);
  };

  return (
    <main class="home">
      <header class="home-head">
        <h1>
          <span class="logo" aria-hidden="true">◉</span> BandSync
        </h1>
        {initial ? (
          <p class="tagline" data-testid="join-session">
            {invite === false ? (
              'This session is no longer on its host.'
            ) : (
              <>
                Session <strong class="invite-name">{invite ? invite.name : '…'}</strong>
              </>
            )}
            <br />
            <span class="small">
              host {initial.origin.replace(/^\w+:\/\//, '')}
              {invite && ` · ${invite.online} of ${invite.members} online`}
            </span>
          </p>
        ) : (
          <p class="tagline">One click for the whole band, charts and setlist in sync.</p>
        )}
      </header>

      <section class="card">
        <h2>You</h2>
        <div class="row wrap">
          <label class="field grow">
            <span>Your name</span>
            <input
              data-testid="your-name"
              value={settings.name}
              maxLength={40}
              autoComplete="nickname"
              placeholder="e.g. Ana"
              onInput={(e) => app.setSettings({ name: (e.target as HTMLInputElement).value })}
            />
          </label>
          <label class="field grow">
            <span>Instrument</span>
            <input
              data-testid="your-instrument"
              value={settings.instrument}
              maxLength={40}
              placeholder="e.g. drums"
              onInput={(e) => app.setSettings({ instrument: (e.target as HTMLInputElement).value })}
            />
          </label>
        </div>
      </section>

      {error && (
        <p class="error-box" role="alert" data-testid="home-error">
          {error}
        </p>
      )}

      {runtime === 'tauri' && (
        <section class="card">
          <h2>Host a session</h2>
          <form
            class="row wrap"
            onSubmit={(e) => {
              e.preventDefault();
              void app.hostSession(hostName || `${settings.name || 'Band'} rehearsal`);
            }}
          >
            <label class="field grow">
              <span>Session name</span>
              <input
                data-testid="host-name"
                value={hostName}
                maxLength={60}
                placeholder={`${settings.name || 'Band'} rehearsal`}
                onInput={(e) => setHostName((e.target as HTMLInputElement).value)}
              />
            </label>
            <button class="primary big" data-testid="host-button" type="submit" disabled={busy}>
              Host
            </button>
          </form>
          <p class="hint">Everyone on the same Wi-Fi joins by scanning the QR code you will see.</p>
        </section>
      )}

      <section class="card">
        <h2>Join a session</h2>
        <form class="stack" onSubmit={join}>
          <label class="field">
            <span>{runtime === 'tauri' ? 'Join link, or address HOST:PORT' : initial ? 'Link (paste another to join elsewhere)' : 'Join link'}</span>
            <input
              class={initial ? 'link' : undefined}
              data-testid="join-target"
              value={target}
              placeholder="http://192.168.1.5:7878/s/abc123#k=…"
              autoCapitalize="off"
              autoCorrect="off"
              spellcheck={false}
              onInput={(e) => setTarget((e.target as HTMLInputElement).value)}
            />
          </label>
          {!linkSecret && (
            <label class="field">
              <span>PIN {needsPin ? '(this link has no secret: the PIN is needed)' : '(only without a link secret)'}</span>
              <input
                data-testid="join-pin"
                value={pin}
                inputMode="numeric"
                pattern="[0-9]*"
                maxLength={8}
                placeholder="6 to 8 digits"
                onInput={(e) => setPin((e.target as HTMLInputElement).value.replace(/\D/g, ''))}
              />
            </label>
          )}
          <button class="primary big" data-testid="join-button" type="submit" disabled={busy}>
            Join
          </button>
        </form>
        {hostSessions && hostSessions.length > 0 && (
          <div class="host-sessions">
            <h3>Sessions on this host</h3>
            <ul class="plain">
              {hostSessions.map((h) => (
                <li key={h.id}>
                  <button
                    class="linkish"
                    onClick={() => setTarget(`${location.origin}/s/${h.id}`)}
                    title="Join with the PIN"
                  >
                    {h.name} <span class="muted">({h.online} online)</span>
                  </button>
                </li>
              ))}
            </ul>
          </div>
        )}
      </section>

      {runtime === 'tauri' && (
        <section class="card">
          <h2>On this network</h2>
          <ul class="plain discovered" data-testid="discovered-list">
            {discovered.length === 0 && (
              <li class="muted">{discoveryOff ? `LAN discovery is off: ${discoveryOff}` : 'Looking for sessions on the LAN…'}</li>
            )}
            {discovered.map((d) => (
              <li key={`${d.id}-${d.fingerprint}`} class="row">
                <div class="grow">
                  <strong>{d.name}</strong>
                  <div class="muted small">
                    {d.addrs[0] ?? '?'}:{d.port} · {d.members} {d.members === 1 ? 'member' : 'members'}
                  </div>
                </div>
                <button
                  disabled={!d.url}
                  onClick={() => {
                    if (d.url) setTarget(d.url);
                  }}
                >
                  Use
                </button>
              </li>
            ))}
          </ul>
          <p class="hint">A LAN session needs its PIN, or scan its QR code for the full link.</p>
        </section>
      )}

      {recent.length > 0 && (
        <section class="card">
          <h2>Recent</h2>
          <ul class="plain" data-testid="recent-list">
            {recent.map((r) => (
              <li key={r.link} class="row">
                <button class="linkish grow" onClick={() => void app.join(r.link, null)}>
                  {r.name} <span class="muted small">{new Date(r.at).toLocaleDateString()}</span>
                </button>
                <button
                  class="ghost"
                  aria-label={`Forget ${r.name}`}
                  onClick={() => app.store.set({ recent: forgetSession(r.link) })}
                >
                  ✕
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
