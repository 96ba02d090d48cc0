// What the profile explorer's search box was given, and how to look it up.
//
//   p_12                      -> that profile id
//   email:jane@example.com    -> that identifier (any type:value the Profile API takes)
//   jane@example.com          -> email:, then user_id: (some sites use the email as user id)
//   42                        -> user_id:, then anonymous_id:
//   trait.plan = "pro"        -> the profiles whose trait has that value (an audience preview)
//
// No DOM: unit-tested under plain node.

export type SearchQuery =
  | { kind: 'empty' }
  | { kind: 'refs'; refs: string[] }
  | { kind: 'trait'; name: string; value: string; condition: string }
  | { kind: 'invalid'; message: string };

const PROFILE_ID = /^p_[1-9][0-9]*$/;
// The Profile API's identifier types: 1-64 of [a-z0-9_.-] before the first ':'.
const IDENTIFIER = /^([a-z0-9_.-]{1,64}):(.+)$/s;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// trait.NAME = value, NAME plain or quoted, value a JSON string or a bare word or number.
const TRAIT = /^trait\.("(?:[^"\\]|\\.)*"|[A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*)\s*=\s*(.+)$/s;

export function classifySearch(input: string): SearchQuery {
  const text = input.trim();
  if (text === '') return { kind: 'empty' };
  if (PROFILE_ID.test(text)) return { kind: 'refs', refs: [text] };
  const trait = TRAIT.exec(text);
  if (trait) return traitQuery(trait[1], trait[2].trim());
  if (text.startsWith('trait.')) {
    return { kind: 'invalid', message: 'write a trait search as trait.NAME = "value", e.g. trait.plan = "pro"' };
  }
  const identifier = IDENTIFIER.exec(text);
  if (identifier && identifier[2].trim() !== '') return { kind: 'refs', refs: [text] };
  if (EMAIL.test(text)) return { kind: 'refs', refs: [`email:${text}`, `user_id:${text}`] };
  return { kind: 'refs', refs: [`user_id:${text}`, `anonymous_id:${text}`] };
}

function traitQuery(rawName: string, rawValue: string): SearchQuery {
  let name = rawName;
  if (rawName.startsWith('"')) {
    try {
      name = JSON.parse(rawName) as string;
    } catch {
      return { kind: 'invalid', message: `the trait name ${rawName} is not a valid quoted name` };
    }
  }
  let value = rawValue;
  if (rawValue.startsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(rawValue);
      if (typeof parsed !== 'string') throw new Error('not a string');
      value = parsed;
    } catch {
      return { kind: 'invalid', message: `the value ${rawValue} is not a string in double quotes` };
    }
  }
  if (name === '') return { kind: 'invalid', message: 'the trait name is empty' };
  return { kind: 'trait', name, value, condition: traitCondition(name, value) };
}

// The condition-language text that holds for profiles whose trait `name` equals `value` (a
// string). A dotted name walks into objects (address.city); a name with other characters is
// quoted, as docs/audiences.md describes.
export function traitCondition(name: string, value: string): string {
  const path = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/.test(name) ? name : JSON.stringify(name);
  return `trait.${path} = ${JSON.stringify(value)}`;
}

// A profile reference as one path segment of /v1/profiles/{ref}.
export function profilePath(ref: string): string {
  return `/v1/profiles/${encodeURIComponent(ref)}`;
}
