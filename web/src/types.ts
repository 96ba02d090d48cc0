// The shapes of the server's answers that the console reads (docs/api/openapi.yaml has them all).
// Only the members the pages use are listed.

import type { IdentityEdgeRecord } from './identity_graph.ts';

export interface Identifier {
  type: string;
  value: string;
  first_seen: string;
  last_seen: string;
}

export interface Profile {
  id: string;
  traits: Record<string, unknown>;
  identifiers: Identifier[];
  first_seen: string;
  last_seen: string;
  event_count: number;
  merged_from?: string[];
  groups?: string[];
  computed_traits?: Record<string, unknown>;
  audiences?: { name: string; entered_at: string }[];
}

export interface TraitProvenance {
  value: unknown;
  source: string;
  timestamp: string;
  message_id: string;
}

export interface ProfileTraits {
  id: string;
  traits: Record<string, TraitProvenance>;
}

export interface TimelineEvent {
  seq: number;
  timestamp: string;
  type: string;
  event?: string;
  source: string;
  data?: Record<string, unknown>;
}

export interface TimelinePage {
  id: string;
  events: TimelineEvent[];
  next_cursor: string | null;
}

export interface ProfileMerges {
  id: string;
  edges: IdentityEdgeRecord[];
}

export interface UnmergeAnswer {
  id: number;
  status: string;
  profile?: string;
  identifier?: string;
  merged?: string;
  requested_at?: string;
  sides?: string[][];
  profiles?: string[];
}

export interface Audience {
  name: string;
  condition: string;
  condition_json?: unknown;
  description?: string;
  size?: number;
}

export interface AudienceApplying {
  name: string;
  status: 'applying';
  profiles_done: number;
  profiles_total: number;
}

export interface AudiencePreview {
  condition: unknown;
  size: number;
  exact: boolean;  // false: `size` is estimated from `read` of the `candidates`
  size_low: number;
  size_high: number;
  candidates: number;
  read: number;
  profiles: number;
  sample: string[];
  elapsed_ms: number;
}

export interface MembersPage {
  audience: string;
  members: { profile: string; entered_at?: string }[];
  next: string | null;
}

export interface SizesAnswer {
  audience: string;
  points: { time: string; size: number }[];
}

export interface DestinationStatus {
  state: string;
  delivered: number;
  failed_attempts: number;
  dead: number;
  outbox: number;
  outbox_bytes: number;
  dead_letters: number;
  events_cursor?: number;
  changes_cursor?: string;
  next_attempt?: string;
  last_error?: string;
  last_error_at?: string;
  last_delivery_at?: string;
}

export interface Destination {
  name: string;
  type: string;
  url?: string;
  topic?: string;
  brokers?: string;
  path?: string;
  postgres?: { host?: string; database?: string; schema?: string };
  enabled: boolean;
  configured: boolean;
  status: DestinationStatus;
}

export interface DeadLetter {
  id: number;
  messageId: string;
  first_attempt: string;
  reason: string;
  attempts: { at: string; status?: number; error?: string }[];
  message: unknown;
}

export interface DeadLettersPage {
  dead_letters: DeadLetter[];
  next?: number;
}

// The data of the live debugger's frames (the contract of GET /admin/v1/live/events).
export interface LiveEventFrame {
  seq: number;
  source: string;
  receivedAt: string;
  event: Record<string, unknown>;
}

export interface LiveRejectedFrame {
  source: string;
  receivedAt: string;
  code: string;
  reason: string;
  item: string;
}
