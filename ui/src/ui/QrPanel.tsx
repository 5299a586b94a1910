import { useEffect, useState } from 'preact/hooks';
import { isLeader } from '../core/session';
import { useApp, useAppState } from './ctx';
import { pinProblem } from '../wasm/api';

/**
 * The leader's join panel: the link with the current secret and its QR code, a new secret, and
 * the PIN for typed joins. Only a leader holds the credentials (PROTOCOL §5.10).
 */
export function QrPanel() {
  const app = useApp();
  // The link follows the credentials, the host and the join target (`App.joinLink`).
  const leads = useAppState((s) => !!s.session && isLeader(s.session));
  const creds = useAppState((s) => s.session?.credentials);
  const host = useAppState((s) => s.host);
  useAppState((s) => s.target);
  const [pin, setPin] = useState('');
  const [copied, setCopied] = useState(false);
  // Only the leader shows it: nobody else asks the host for a code.
  const link = leads ? app.joinLink() : null;
  const [svg, setSvg] = useState<string | null>(null);
  useEffect(() => {
    if (!link) return setSvg(null);
    // The app's own QR code when it hosts and shows its own link; otherwise the host draws it
    // (one QR encoder: the Rust one, `share.rs`).
    if (host && host.link === link && host.qr_svg) return setSvg(host.qr_svg);
    let live = true;
    app.backend?.qrSvg(link).then(
      (s) => live && setSvg(s),
      () => live && setSvg(null),
    );
    return () => {
      live = false;
    };
  }, [link, host?.qr_svg]);
  if (!leads) return null;

  return (
    <section class="card qr" id="invite" data-testid="qr-panel" aria-label="Invite">
      <h2>Invite</h2>
      {!creds && <p class="muted">Waiting for the join credentials from the host…</p>}
      {link && (
        <div class="qr-body">
          {svg && <div class="qr-code" aria-label="QR code of the join link" dangerouslySetInnerHTML={{ __html: svg }} />}
          <div class="grow stack">
            <input class="link" data-testid="join-link" readOnly value={link} onFocus={(e) => (e.target as HTMLInputElement).select()} />
            <div class="row wrap">
              <button
                onClick={() => {
                  void navigator.clipboard?.writeText(link).then(() => {
                    setCopied(true);
                    setTimeout(() => setCopied(false), 1500);
                  });
                }}
              >
                {copied ? 'Copied' : 'Copy link'}
              </button>
              {app.viewLink() && (
                <button data-testid="copy-view-link" title="Whoever joins with it can only view" onClick={() => void navigator.clipboard?.writeText(app.viewLink() ?? '')}>
                  Copy view-only link
                </button>
              )}
              <button
                data-testid="rotate-secret"
                onClick={() => {
                  if (confirm('Make a new link? The old link and QR code stop working for new joins; people already in stay.')) {
                    void app.send({ type: 'rotate_secret' });
                  }
                }}
              >
                New link
              </button>
            </div>
            {host && host.links.length > 1 && (
              <details>
                <summary>Other networks of this host</summary>
                <ul class="plain small">
                  {host.links.map((l) => (
                    <li key={l}>{l.replace(/#.*/, '')}</li>
                  ))}
                </ul>
              </details>
            )}
          </div>
        </div>
      )}
      {creds && (
        <form
          class="row wrap pin-row"
          onSubmit={(e) => {
            e.preventDefault();
            const problem = pinProblem(pin);
            if (problem !== null) {
              app.toast(problem);
              return;
            }
            void app.send({ type: 'set_pin', pin });
            setPin('');
          }}
        >
          <span class="pin-now" data-testid="pin-current">
            PIN: <strong>{creds.pin ?? 'none'}</strong>
          </span>
          <input
            data-testid="pin-input"
            inputMode="numeric"
            maxLength={8}
            placeholder="4–8 digits"
            value={pin}
            onInput={(e) => setPin((e.target as HTMLInputElement).value.replace(/\D/g, ''))}
          />
          <button type="submit" data-testid="pin-set">
            Set PIN
          </button>
          {creds.pin && (
            <button type="button" data-testid="pin-clear" onClick={() => void app.send({ type: 'set_pin', pin: null })}>
              Clear PIN
            </button>
          )}
        </form>
      )}
      {creds && (
        <p class="hint">
          Typed joins use the address {app.state.target ? new URL(app.state.target.origin).host : 'of the host'} and the PIN.
        </p>
      )}
    </section>
  );
}
