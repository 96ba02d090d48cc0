// Unmerging: POST /v1/profiles/{id}/unmerge, then waiting until the processor has applied it.
//
// The server answers 200 once the split is visible, or 202 with the unmerge's id when the
// processor is more than 10 s behind; GET /v1/identity/unmerges/{id} answers 404 until it is
// applied. After that, the identifier is looked up again to say where it went: the side with the
// profile's oldest events keeps the profile id, so the removed identifier may be the one that
// stays on this id while the others move to a new profile.
//
// Aborting `signal` (the page went away) stops the waiting and the look-ups: the promise rejects
// with an AbortError. The unmerge itself, once posted, is in the log and will be applied anyway.

import { ApiError, api } from './api.ts';
import { sleep } from './backoff.ts';
import { profilePath } from './search.ts';
import type { Profile, UnmergeAnswer } from './types.ts';

export type UnmergeTarget = { identifier: string } | { merged: string };

export interface UnmergeOutcome {
  answer: UnmergeAnswer;
  // One line for people.
  summary: string;
}

const WAIT_MS = 60000;

export async function unmerge(profileId: string, target: UnmergeTarget, signal: AbortSignal): Promise<UnmergeOutcome> {
  const posted = await api<UnmergeAnswer>(`${profilePath(profileId)}/unmerge`, { method: 'POST', body: target, signal });
  let answer = posted.data;
  if (posted.status === 202) answer = await waitForUnmerge(answer.id, signal);
  if (answer.status === 'refused') {
    return { answer, summary: `The processor refused unmerge ${answer.id} when it came to apply it.` };
  }
  return { answer, summary: await describeOutcome(profileId, target, answer, signal) };
}

async function waitForUnmerge(id: number, signal: AbortSignal): Promise<UnmergeAnswer> {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    await sleep(500, signal);
    signal.throwIfAborted();
    try {
      return (await api<UnmergeAnswer>(`/v1/identity/unmerges/${id}`, { signal })).data;
    } catch (caught) {
      if (!(caught instanceof ApiError && caught.status === 404)) throw caught;
    }
  }
  throw new ApiError(0, 'timeout', `unmerge ${id} is in the log but not applied after ${WAIT_MS / 1000} s: the processor is behind. ` +
    `It will be applied in order; check GET /v1/identity/unmerges/${id} later.`);
}

async function describeOutcome(profileId: string, target: UnmergeTarget, answer: UnmergeAnswer, signal: AbortSignal): Promise<string> {
  const split = `Unmerge ${answer.id} applied: the events went to ${(answer.profiles ?? []).join(', ') || 'the same profile'}`;
  if (!('identifier' in target)) return `${split}; ${target.merged} was split off.`;
  try {
    const holder = await api<Profile>(profilePath(target.identifier), { signal });
    if (holder.data.id === profileId) {
      const others = (answer.profiles ?? []).filter((id) => id !== profileId);
      return `${split}. ${target.identifier} kept ${profileId} (its side has the profile's oldest events)` +
        (others.length ? `; the other identifiers are now on ${others.join(', ')}.` : '.');
    }
    return `${split}. ${target.identifier} is no longer on ${profileId}; it is on ${holder.data.id} now.`;
  } catch (caught) {
    if (caught instanceof ApiError && caught.code === 'profile_not_found') {
      return `${split}. ${target.identifier} is no longer on any profile.`;
    }
    throw caught;
  }
}
