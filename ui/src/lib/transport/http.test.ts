import { describe, expect, it } from 'vitest';
import { apiClient, send, toQuery } from './http';
import { ApiError } from './transport';
import type { Request } from '../generated/Request';

/** What the client sent, answered with `status` and `body`. */
function recording(status = 200, body: unknown = {}) {
  const sent: { method: string; url: string; auth: string | null; body: string | null }[] = [];
  const fetchImpl = async (input: RequestInfo | URL) => {
    const r = input as globalThis.Request;
    sent.push({ method: r.method, url: r.url, auth: r.headers.get('Authorization'), body: r.method === 'GET' ? null : await r.text() });
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  };
  return { api: apiClient('http://pool.test', fetchImpl as typeof fetch), sent };
}

const alice = { user: 'alice', groups: ['support'], token: 't0k' };

async function sentFor(r: Request) {
  const { api, sent } = recording();
  await send(api, alice, r);
  return sent[0];
}

describe('the HTTP transport, typed by the server\'s API document', () => {
  it('sends the node\'s list parameters as the server decodes them, with the bearer token', async () => {
    const s = await sentFor({ kind: 'tasks', params: { filter: 'amount > 100 & x', assignedToMe: true, offset: 500, limit: 500 } });
    expect(s.method).toBe('GET');
    expect(s.url).toBe('http://pool.test/api/v1/tasks?filter=amount%20%3E%20100%20%26%20x&assignedToMe=true&offset=500&limit=500');
    expect(s.auth).toBe('Bearer t0k');
    expect(toQuery({ sort: '-priority', limit: 2 })).toBe('sort=-priority&limit=2');
  });

  it('sends each action to its path with the server\'s body', async () => {
    expect(await sentFor({ kind: 'act', id: 'a/b', action: { kind: 'claim' } })).toMatchObject({ method: 'POST', url: 'http://pool.test/api/v1/tasks/a%2Fb/claim?wait=true', body: '' });
    expect(await sentFor({ kind: 'act', id: 't', action: { kind: 'complete', payload: { approved: true } } })).toMatchObject({
      url: 'http://pool.test/api/v1/tasks/t/complete?wait=true',
      body: '{"payload":{"approved":true}}',
    });
    expect(await sentFor({ kind: 'act', id: 't', action: { kind: 'defer', followUpDate: '2026-12-24T08:00:00Z' } })).toMatchObject({
      url: 'http://pool.test/api/v1/tasks/t/defer?wait=true',
      body: '{"followUpDate":"2026-12-24T08:00:00Z"}',
    });
  });

  it('sends an action under a key of its own, and again under the same key when its outcome is left open', async () => {
    const keys: (string | null)[] = [];
    const statuses = [503, 504, 200];
    const fetchImpl = async (input: RequestInfo | URL) => {
      keys.push((input as globalThis.Request).headers.get('Idempotency-Key'));
      const status = statuses[keys.length - 1];
      return new Response(JSON.stringify(status === 200 ? { request: { state: 'performed' } } : { status }), { status, headers: { 'Content-Type': 'application/json' } });
    };
    const api = apiClient('http://pool.test', fetchImpl as typeof fetch);
    const answered = await send(api, alice, { kind: 'act', id: 't', action: { kind: 'claim' } });
    expect(answered).toMatchObject({ request: { state: 'performed' } });
    expect(keys).toHaveLength(3);
    expect(keys[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(keys).size).toBe(1);
    // The next action is another request: another key.
    await send(api, alice, { kind: 'act', id: 't', action: { kind: 'claim' } }).catch(() => undefined);
    expect(keys[3]).not.toBe(keys[0]);
  }, 10_000);

  it('sends a start with its values, and reads forms from their paths', async () => {
    expect(await sentFor({ kind: 'start', id: 'handle-incident:1:example', values: { title: 'x', severity: '2' } })).toMatchObject({
      method: 'POST',
      url: 'http://pool.test/api/v1/process-definitions/handle-incident%3A1%3Aexample/start?wait=true',
      body: '{"values":{"title":"x","severity":"2"}}',
    });
    expect(await sentFor({ kind: 'taskForm', id: 't/1' })).toMatchObject({ method: 'GET', url: 'http://pool.test/api/v1/tasks/t%2F1/form' });
    expect(await sentFor({ kind: 'startForm', id: 'd:1' })).toMatchObject({ method: 'GET', url: 'http://pool.test/api/v1/process-definitions/d%3A1/start-form' });
  });

  it('turns a refusal into the server\'s problem document', async () => {
    const problem = { type: 'https://taskpool.dev/problems/invalid-input', title: 'Bad Request', status: 400, detail: 'unknown field', field: 'filter' };
    const { api } = recording(400, problem);
    const err = await send(api, alice, { kind: 'tasks', params: { filter: 'nope >' } }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).problem).toEqual(problem);
    const proxy = recording(502, '<html>bad gateway</html>');
    const other = await send(proxy.api, alice, { kind: 'outcomes' }).catch((e) => e);
    expect((other as ApiError).status).toBe(502);
  });
});
