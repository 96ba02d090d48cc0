// Hash routes of the console.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRoute, routeHref, sectionOf } from '../.test-build/route.js';

test('each page has a route, and href is its inverse', () => {
  const routes = [
    { page: 'overview' }, { page: 'debugger' }, { page: 'profiles' }, { page: 'profile', id: 'p_12' },
    { page: 'graph', id: 'p_12' }, { page: 'audiences' }, { page: 'audience', name: 'big spenders/x' },
    { page: 'destinations' },
  ];
  for (const route of routes) assert.deepEqual(parseRoute(routeHref(route)), route);
  assert.equal(routeHref({ page: 'audience', name: 'big spenders' }), '#/audiences/big%20spenders');
});

test('the empty hash is the overview; unknown or malformed paths are not found', () => {
  assert.deepEqual(parseRoute(''), { page: 'overview' });
  assert.deepEqual(parseRoute('#/'), { page: 'overview' });
  assert.equal(parseRoute('#/nope').page, 'not_found');
  assert.equal(parseRoute('#/profiles/p_1/secrets').page, 'not_found');
  assert.equal(parseRoute('#/audiences/%E0%A4%A').page, 'not_found');
  assert.deepEqual(parseRoute('#/profiles/p_1?tab=x'), { page: 'profile', id: 'p_1' });
});

test('profile and audience pages belong to their section of the navigation', () => {
  assert.equal(sectionOf({ page: 'graph', id: 'p_1' }), 'profiles');
  assert.equal(sectionOf({ page: 'audience', name: 'x' }), 'audiences');
  assert.equal(sectionOf({ page: 'debugger' }), 'debugger');
});
