// Where a refused audience condition went wrong, from the server's 400 message.
//
// The server names the place as "condition: line L, column C: what it expected" (columns count
// characters, not UTF-16 units). The builder turns that into an offset in the textarea to put the
// caret there, and into the offending line with a marker under the column. No DOM: unit-tested.

export interface ConditionErrorPlace {
  line: number;
  column: number;
  // Index into the condition text as a JavaScript string (UTF-16 units), for setSelectionRange.
  offset: number;
  // The text of that line, and a marker line pointing at the column.
  lineText: string;
  marker: string;
}

const PLACE = /line (\d+), column (\d+)/;

// Null when the message names no place (e.g. an unknown computed trait).
export function conditionErrorPlace(message: string, condition: string): ConditionErrorPlace | null {
  const match = PLACE.exec(message);
  if (!match) return null;
  const line = Number(match[1]);
  const column = Number(match[2]);
  if (line < 1 || column < 1) return null;
  const lines = condition.split(/\r\n|\n|\r/);
  const lineText = lines[Math.min(line, lines.length) - 1] ?? '';
  let lineStart = 0;
  const lineEnds = /\r\n|\n|\r/g;
  for (let i = 1; i < line; i++) {
    const found = lineEnds.exec(condition);
    if (!found) break;
    lineStart = found.index + found[0].length;
  }
  const characters = Array.from(lineText);
  const before = characters.slice(0, column - 1);
  const offset = lineStart + before.join('').length;
  const marker = ' '.repeat(Math.min(before.length, characters.length)) + '^';
  return { line, column, offset, lineText, marker };
}

// The message without its "condition: line L, column C: " prefix, for showing beside the place.
export function conditionErrorText(message: string): string {
  return message.replace(/^condition: line \d+, column \d+: /, '');
}
