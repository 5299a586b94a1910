//! A device from a list the system gives (an audio output, a MIDI port), or none: one the
//! settings name but the list lacks (unplugged) stays shown, so the choice is not lost silently.

export function DevicePick(props: {
  label: string;
  testid?: string;
  /** What "none" reads as: `Off`, `system default`. */
  none: string;
  value: string | null;
  names: string[];
  onFocus?: () => void;
  set: (v: string | null) => void;
}) {
  const names = props.value && !props.names.includes(props.value) ? [props.value, ...props.names] : props.names;
  return (
    <label class="field">
      <span>{props.label}</span>
      <select data-testid={props.testid} value={props.value ?? ''} onFocus={props.onFocus} onChange={(e) => props.set((e.target as HTMLSelectElement).value || null)}>
        <option value="">{props.none}</option>
        {names.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </label>
  );
}
