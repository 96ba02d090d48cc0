// Incremental parser of the server-sent events wire format (text/event-stream).
//
// EventSource cannot send an Authorization header, so the live debugger reads the stream with
// fetch and hands each decoded chunk to an SseParser. Chunks may split a line, or a CR LF pair,
// anywhere. The rules are the HTML standard's: lines end with CR LF, LF or CR; a blank line ends
// a frame; a line starting with ':' is a comment (the server's keep-alives); "field: value" loses
// one space after the colon; data lines are joined with "\n"; a frame without data is dropped.
// No DOM: unit-tested under plain node.

export interface SseFrame {
  // "message" when the frame had no event: line.
  event: string;
  data: string;
  // The last id: seen on the stream so far (ids carry over to later frames), "" when none.
  id: string;
}

export class SseParser {
  private buffer = '';
  private dataLines: string[] = [];
  private eventName = '';
  private lastId = '';
  private retryMs: number | null = null;
  private startOfStream = true;
  // A chunk ended in CR: if the next one starts with LF, that LF belongs to the same line end.
  private skipLeadingLineFeed = false;

  // The reconnection delay the server asked for with a retry: line, if any.
  get retry(): number | null {
    return this.retryMs;
  }

  get lastEventId(): string {
    return this.lastId;
  }

  // Feeds one decoded chunk; answers the frames it completed, in order.
  push(chunk: string): SseFrame[] {
    let text = chunk;
    if (this.startOfStream && text.length > 0) {
      this.startOfStream = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.skipLeadingLineFeed && text.startsWith('\n')) text = text.slice(1);
    this.skipLeadingLineFeed = false;
    this.buffer += text;

    const frames: SseFrame[] = [];
    let start = 0;
    for (;;) {
      const lineEnd = findLineEnd(this.buffer, start);
      if (lineEnd === -1) break;
      const line = this.buffer.slice(start, lineEnd);
      const frame = this.takeLine(line);
      if (frame) frames.push(frame);
      if (this.buffer[lineEnd] === '\r') {
        if (lineEnd + 1 === this.buffer.length) {
          this.skipLeadingLineFeed = true;
          start = lineEnd + 1;
        } else {
          start = this.buffer[lineEnd + 1] === '\n' ? lineEnd + 2 : lineEnd + 1;
        }
      } else {
        start = lineEnd + 1;
      }
    }
    this.buffer = this.buffer.slice(start);
    return frames;
  }

  private takeLine(line: string): SseFrame | null {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventName = value;
        break;
      case 'data':
        this.dataLines.push(value);
        break;
      case 'id':
        // The standard ignores ids holding NUL, so a broken id cannot poison Last-Event-ID.
        if (!value.includes('\0')) this.lastId = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break;
    }
    return null;
  }

  private dispatch(): SseFrame | null {
    const hadData = this.dataLines.length > 0;
    const frame: SseFrame = { event: this.eventName || 'message', data: this.dataLines.join('\n'), id: this.lastId };
    this.dataLines = [];
    this.eventName = '';
    return hadData ? frame : null;
  }
}

function findLineEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) return i;
  }
  return -1;
}
