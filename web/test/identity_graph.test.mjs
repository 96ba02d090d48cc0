// The identity graph built from a profile's edges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildIdentityGraph } from '../.test-build/identity_graph.js';

// As GET /v1/profiles/user_id:u5/merges answered on a real server.
const EDGES = [
  { kind: 'link', rule: 'first seen: new profile', profile: 'p_4', identifiers: ['anonymous_id:anon-5'], seq: 7, time: '2026-01-01T00:00:00.000Z' },
  { kind: 'link', rule: 'first seen: new profile', profile: 'p_5', identifiers: ['user_id:u5'], seq: 8, time: '2026-01-01T00:00:01.000Z' },
  { kind: 'merge', rule: 'identifiers of both profiles on one event', profile: 'p_4', other_profile: 'p_5', identifiers: ['email:max@example.com', 'anonymous_id:anon-5'], seq: 9, time: '2026-01-01T00:00:02.000Z' },
  { kind: 'probabilistic', rule: 'probabilistic: match probability 0.9986', profile: 'p_4', other_profile: 'p_9', identifiers: ['user_id:u5', 'email:x@example.org'], seq: 10, time: '2026-01-01T00:00:03.000Z', score: 0.9986 },
  { kind: 'drop', rule: 'limit: user_id limit 1', profile: 'p_4', other_profile: 'p_1', identifiers: ['user_id:u9'], seq: 11, time: '2026-01-01T00:00:04.000Z' },
];

test('identifiers and profiles become nodes; the live profile and what it holds are marked', () => {
  const graph = buildIdentityGraph('p_4', ['anonymous_id:anon-5', 'user_id:u5'], EDGES, (iso) => iso.slice(11, 19));
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  assert.deepEqual([...byId.keys()].sort(), [
    'identifier:anonymous_id:anon-5', 'identifier:user_id:u5', 'identifier:user_id:u9',
    'profile:p_4', 'profile:p_5', 'profile:p_9',
  ]);
  assert.equal(byId.get('profile:p_4').current, true);
  assert.equal(byId.get('profile:p_5').current, false);
  assert.equal(byId.get('identifier:user_id:u9').current, false, 'a dropped identifier is not held');
  assert.equal(byId.get('identifier:user_id:u5').label, 'user_id:u5');
});

test('edges carry the rule, the time and the score of a probabilistic link', () => {
  const graph = buildIdentityGraph('p_4', [], EDGES, (iso) => iso.slice(11, 19));
  const merge = graph.edges.find((edge) => edge.kind === 'merge');
  assert.deepEqual(merge, { id: 'e2', source: 'profile:p_5', target: 'profile:p_4', kind: 'merge',
    label: 'identifiers of both profiles on one event\n00:00:02' });
  const probabilistic = graph.edges.find((edge) => edge.kind === 'probabilistic');
  assert.equal(probabilistic.label, 'probabilistic: match probability 0.9986\n00:00:03\nscore 0.9986');
  const drop = graph.edges.find((edge) => edge.kind === 'drop');
  assert.equal(drop.target, 'identifier:user_id:u9');
  assert.equal(graph.edges.filter((edge) => edge.kind === 'link').length, 2);
});
