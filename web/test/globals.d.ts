// The timer and abort globals that browsers and Node both have, for the DOM-free modules that
// tsconfig.test.json compiles without the DOM library (only what those modules use).

declare function setTimeout(handler: () => void, ms?: number): unknown;
declare function clearTimeout(id: unknown): void;

interface AbortSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
