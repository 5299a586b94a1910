import { useEffect, useState } from 'preact/hooks';
import { useApp, useAppState } from './ctx';
import { Home } from './Home';
import { Session } from './Session';
import { SettingsPanel } from './Settings';

function Toasts() {
  const app = useApp();
  const toasts = useAppState((s) => s.toasts);
  return (
    <div class="toasts" aria-live="polite" data-testid="toasts">
      {toasts.map((t) => (
        <div key={t.id} class={`toast ${t.kind}`} role={t.kind === 'error' ? 'alert' : 'status'} data-testid="toast" onClick={() => app.dismiss(t.id)}>
          {t.text}
        </div>
      ))}
    </div>
  );
}

export function Root() {
  const view = useAppState((s) => s.view);
  const stage = useAppState((s) => s.settings.stage);
  const [settings, setSettings] = useState(false);
  useEffect(() => {
    document.documentElement.classList.toggle('stage', stage);
    document.querySelector('meta[name="theme-color"]')?.setAttribute('content', stage ? '#0b0d10' : '#f6f4ef');
  }, [stage]);
  return (
    <>
      {view === 'home' ? <Home /> : <Session />}
      {view === 'home' && (
        <button class="ghost settings-fab" data-testid="open-settings" aria-label="Settings" onClick={() => setSettings(true)}>
          ⚙
        </button>
      )}
      {settings && <SettingsPanel onClose={() => setSettings(false)} />}
      <Toasts />
    </>
  );
}
