import { describe, expect, it } from 'vitest';
import { route, toQuery } from './http';

describe('the HTTP routes of typed requests', () => {
  it('encodes the node\'s parameter types as the server decodes them', () => {
    expect(toQuery({})).toBe('');
    expect(toQuery({ filter: 'amount > 100 & x', assignedToMe: true, offset: 500, limit: 500 })).toBe(
      'filter=amount+%3E+100+%26+x&assignedToMe=true&offset=500&limit=500',
    );
    expect(route({ kind: 'tasks', params: { sort: '-priority', limit: 2 } })).toEqual(['GET', '/api/v1/tasks?sort=-priority&limit=2']);
  });

  it('sends each action to its path with the server\'s body', () => {
    expect(route({ kind: 'act', id: 'a/b', action: { kind: 'claim' } })).toEqual(['POST', '/api/v1/tasks/a%2Fb/claim?wait=true']);
    expect(route({ kind: 'act', id: 't', action: { kind: 'complete', payload: { approved: true } } })).toEqual([
      'POST',
      '/api/v1/tasks/t/complete?wait=true',
      { payload: { approved: true } },
    ]);
    expect(route({ kind: 'act', id: 't', action: { kind: 'defer', followUpDate: '2026-12-24T08:00:00Z' } })).toEqual([
      'POST',
      '/api/v1/tasks/t/defer?wait=true',
      { followUpDate: '2026-12-24T08:00:00Z' },
    ]);
  });
});
