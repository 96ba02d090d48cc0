// A destination's delivery state as a coloured label; the word itself carries the meaning, the
// colour only repeats it.

const DESCRIPTIONS: Record<string, string> = {
  delivering: 'sending messages now',
  idle: 'caught up, waiting for messages',
  backing_off: 'failing; waiting before the next attempt',
  disabled: 'delivery turned off (enabled: false)',
  error: 'its stored state cannot be read; retried every few seconds',
};

export function StateBadge({ state }: { state: string }) {
  const tone = state === 'backing_off' || state === 'error' ? 'bad' : state === 'disabled' ? 'muted' : 'good';
  return (
    <span class={`badge badge--${tone}`} title={DESCRIPTIONS[state] ?? state} data-testid="destination-state">
      {state.replace('_', ' ')}
    </span>
  );
}
