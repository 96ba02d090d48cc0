// What the profile explorer's search box was given, and how to look it up.
//
//   p_12                      -> that profile id
//   email:jane@example.com    -> that identifier (any type:value the Profile API takes)
//   jane@example.com          -> email:, then user_id: (some sites use the email as user id)
//   42                        -> user_id:, then anonymous_id:
//   trait.plan = "pro"        -> the profiles whose trait has that value (an audience preview);
//   trait.vip = true             true, false, null and numbers are those values, as in the
//   trait.seats = 3              condition language; "..." or any other word is a string
//
// No DOM: unit-tested under plain node.

// A value of the condition language: a string, a number, true, false or null.
// A number as typed (its digits kept: 12345678901234567890 is more than a double holds).
export interface TraitNumber {
  number: string;
}
export type TraitValue = string | number | boolean | null | TraitNumber;

export type SearchQuery =
  | { kind: 'empty' }
  | { kind: 'refs'; refs: string[] }
  | { kind: 'trait'; name: string; value: TraitValue; condition: string }
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
  const value = parseTraitValue(rawValue);
  if (value === undefined) return { kind: 'invalid', message: `the value ${rawValue} is not a string in double quotes` };
  if (name === '') return { kind: 'invalid', message: 'the trait name is empty' };
  return { kind: 'trait', name, value, condition: traitCondition(name, value) };
}

// A JSON number, the numbers the condition language reads (it also takes a leading '+').
const NUMBER = /^[+-]?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

// What a typed value means: "..." is that string (JSON escapes); true, false, null and numbers
// are themselves; anything else is the text as typed. Undefined when a quoted value does not
// parse as a JSON string.
export function parseTraitValue(typed: string): TraitValue | undefined {
  const text = typed.trim();
  if (text.startsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(text);
      return typeof parsed === 'string' ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null') return null;
  if (NUMBER.test(text)) return { number: text };
  return typed;
}

// The condition-language text that holds for profiles whose trait `name` equals `value`. A
// dotted name walks into objects (address.city); a name with other characters is quoted, as
// docs/audiences.md describes. Strings are quoted with JSON escapes; numbers, booleans and null
// are written bare, since `= "true"` would match only the string (booleans compare by kind).
export function traitCondition(name: string, value: TraitValue): string {
  const path = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/.test(name) ? name : JSON.stringify(name);
  // A typed number goes as typed; JSON's text of the rest is the condition language's.
  const text = value !== null && typeof value === 'object' ? value.number : JSON.stringify(value);
  return `trait.${path} = ${text}`;
}

// A profile reference as one path segment of /v1/profiles/{ref}.
export function profilePath(ref: string): string {
  return `/v1/profiles/${encodeURIComponent(ref)}`;
}
