// Follows GET /admin/v1/live/events, a text/event-stream, and reconnects when it ends.
//
// EventSource cannot send the Authorization header, so this reads the body with fetch and a
// ReadableStream reader and parses frames with SseParser. When the stream ends or fails, it waits
// (backoffDelay, or the server's retry:) and connects again; the wait starts over once a
// connection has delivered a frame. A new connection sends its backlog again, so the caller drops
// events it already has (by seq). Aborting `signal` ends it for good.

import { ApiError, request } from './api.ts';
import { backoffDelay, sleep } from './backoff.ts';
import { SseParser, type SseFrame } from './sse.ts';

export type StreamState =
  | { state: 'connecting' }
  | { state: 'open' }
  | { state: 'waiting'; retryAtMs: number; reason: string }
  | { state: 'failed'; reason: string };

export interface FollowOptions {
  path: string;
  signal: AbortSignal;
  onFrame: (frame: SseFrame) => void;
  onState: (state: StreamState) => void;
}

// Resolves when `signal` is aborted, or with a 'failed' state when the server refuses the request
// in a way a retry cannot fix (401: the token; 400: the filters).
export async function followStream({ path, signal, onFrame, onState }: FollowOptions): Promise<void> {
  let attempt = 0;
  while (!signal.aborted) {
    onState({ state: 'connecting' });
    const parser = new SseParser();
    let reason = 'the stream ended';
    try {
      const response = await request(path, { signal }, 'text/event-stream');
      if (!response.body) throw new Error('the answer has no body to read');
      onState({ state: 'open' });
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      const cancel = () => void reader.cancel().catch(() => {});
      signal.addEventListener('abort', cancel, { once: true });
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          const frames = parser.push(decoder.decode(value, { stream: true }));
          if (frames.length > 0) attempt = 0;
          for (const frame of frames) onFrame(frame);
        }
        for (const frame of parser.push(decoder.decode())) onFrame(frame);
      } finally {
        signal.removeEventListener('abort', cancel);
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && (error.status === 401 || error.status === 400 || error.status === 404)) {
        onState({ state: 'failed', reason: `${error.message} (${error.code})` });
        return;
      }
      reason = error instanceof Error ? error.message : String(error);
    }
    if (signal.aborted) return;
    const delay = parser.retry ?? backoffDelay(attempt);
    attempt++;
    onState({ state: 'waiting', retryAtMs: Date.now() + delay, reason });
    await sleep(delay, signal);
  }
}
