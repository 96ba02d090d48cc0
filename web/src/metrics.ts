// Reading the Prometheus text format (0.0.4) that GET /metrics answers.
//
// Only samples are kept; # HELP and # TYPE lines are skipped (the overview knows which metrics
// are counters). No DOM: unit-tested under plain node.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

// Parses the whole text. A line that is not a well-formed sample is skipped rather than failing
// the page: the overview should keep showing what it can read.
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sample = parseSampleLine(line);
    if (sample) samples.push(sample);
  }
  return samples;
}

// One "name{label="value",...} value [timestamp]" line, or null.
export function parseSampleLine(line: string): Sample | null {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) return null;
  const name = nameMatch[0];
  let position = name.length;
  const labels: Record<string, string> = {};
  if (line[position] === '{') {
    const parsed = parseLabels(line, position + 1);
    if (!parsed) return null;
    Object.assign(labels, parsed.labels);
    position = parsed.end;
  }
  const rest = line.slice(position).trim().split(/\s+/);
  if (rest.length > 2 || rest[0] === '') return null;
  const value = parseValue(rest[0]);
  if (value === null) return null;
  return { name, labels, value };
}

function parseValue(text: string): number | null {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const value = Number(text);
  return Number.isNaN(value) ? null : value;
}

// Reads labels from just after '{' up to the matching '}'; label values use the escapes \\, \" and \n.
function parseLabels(line: string, from: number): { labels: Record<string, string>; end: number } | null {
  const labels: Record<string, string> = {};
  let i = from;
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
    const keyMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
    if (!keyMatch) return null;
    const key = keyMatch[0];
    i += key.length;
    while (line[i] === ' ') i++;
    if (line[i] !== '=') return null;
    i++;
    while (line[i] === ' ') i++;
    if (line[i] !== '"') return null;
    i++;
    let value = '';
    for (;;) {
      if (i >= line.length) return null;
      const c = line[i];
      if (c === '"') {
        i++;
        break;
      }
      if (c === '\\') {
        const next = line[i + 1];
        value += next === 'n' ? '\n' : next ?? '';
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    labels[key] = value;
  }
}

// The sum of every sample of `name` (all label sets); 0 when there is none (a labelled counter
// appears only once it has been used).
export function total(samples: readonly Sample[], name: string): number {
  let sum = 0;
  for (const sample of samples) if (sample.name === name) sum += sample.value;
  return sum;
}

// The value of the sample of `name` without labels, or null when absent.
export function scalar(samples: readonly Sample[], name: string): number | null {
  for (const sample of samples) {
    if (sample.name === name && Object.keys(sample.labels).length === 0) return sample.value;
  }
  return null;
}

// The samples of `name` summed by the value of one label: e.g. events accepted by source.
export function byLabel(samples: readonly Sample[], name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const sample of samples) {
    if (sample.name !== name) continue;
    const key = sample.labels[label] ?? '';
    out.set(key, (out.get(key) ?? 0) + sample.value);
  }
  return out;
}
