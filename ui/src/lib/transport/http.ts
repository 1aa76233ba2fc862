// The HTTP + SSE transport to taskpool-server (the browser inbox). Requests go through
// openapi-fetch, typed by the server's own API document (api-document/openapi.ts, made by
// openapi-typescript from api-document/openapi.json, which a server test keeps current):
// a path, parameter or body that drifts from the server fails type-checking. The live
// streams use EventSource, which reconnects by itself and sends Last-Event-ID, so the
// server resumes after the last position: nothing missed, nothing twice.

import createClient from 'openapi-fetch';
import type { paths } from '../api-document/openapi';
import type { Request } from '../generated/Request';
import type { TaskListParams } from '../generated/TaskListParams';
import type { TaskStreamParams } from '../generated/TaskStreamParams';
import { ApiError, problemOf, type Session, type Stream, type TaskStreamHandlers, type Transport } from './transport';
import type { OutcomeRecord } from '../types';

/** The server's API, from the page's own origin (`fetch` is looked up per call, so tests can replace it). */
export function apiClient(baseUrl = '', fetchImpl: typeof fetch = (input, init) => globalThis.fetch(input, init)) {
  return createClient<paths>({ baseUrl, fetch: fetchImpl });
}

const client = apiClient();

/** What openapi-fetch answers: the document, or the server's problem document. */
function answer<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.response.ok && r.data !== undefined) return r.data;
  throw new ApiError(problemOf(r.response.status, r.error));
}

const bearer = (s: Session): Record<string, string> => (s.token ? { Authorization: `Bearer ${s.token}` } : {});

/** A fresh idempotency key (crypto.randomUUID needs a secure context; random bytes do not). */
function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Answers that leave a request's outcome open: the server or a proxy was unavailable, or
 * its wait for the application's answer ran out. */
const OUTCOME_OPEN = [502, 503, 504];

/** Pauses before each retry of a user's request. */
export const RETRY_PAUSES_MS = [500, 1500];

/**
 * A user's request (an action, a start) under a key of its own: when its answer is lost
 * (the network failed, or the answer leaves the outcome open) it is sent again with the
 * same `Idempotency-Key`, and the server answers with the first attempt's request, never
 * performing it twice.
 */
async function keyed<T>(
  s: Session,
  attempt: (headers: Record<string, string>) => Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const headers = { ...bearer(s), 'Idempotency-Key': newKey() };
  for (let tries = 0; ; tries++) {
    const last = tries >= RETRY_PAUSES_MS.length;
    let r: { data?: T; error?: unknown; response: Response };
    try {
      r = await attempt(headers);
    } catch (e) {
      if (last) throw e;
      await new Promise((done) => setTimeout(done, RETRY_PAUSES_MS[tries]));
      continue;
    }
    if (!last && OUTCOME_OPEN.includes(r.response.status)) {
      await new Promise((done) => setTimeout(done, RETRY_PAUSES_MS[tries]));
      continue;
    }
    return answer(r);
  }
}

/** Sends `r` to the server through `api` (the one route table of the browser inbox). */
export async function send(api: ReturnType<typeof apiClient>, s: Session, r: Request): Promise<unknown> {
  const unhandled = (never: never): never => {
    throw new Error(`no route for ${JSON.stringify(never)}`);
  };
  const headers = bearer(s);
  switch (r.kind) {
    case 'tasks':
      return answer(await api.GET('/api/v1/tasks', { params: { query: r.params }, headers }));
    case 'task':
      return answer(await api.GET('/api/v1/tasks/{id}', { params: { path: { id: r.id } }, headers }));
    case 'taskDataEntries':
      return answer(await api.GET('/api/v1/tasks/{id}/data-entries', { params: { path: { id: r.id } }, headers }));
    case 'taskForm':
      return answer(await api.GET('/api/v1/tasks/{id}/form', { params: { path: { id: r.id } }, headers }));
    case 'startForm':
      return answer(await api.GET('/api/v1/process-definitions/{id}/start-form', { params: { path: { id: r.id } }, headers }));
    case 'dataEntries':
      return answer(await api.GET('/api/v1/data-entries', { params: { query: { limit: 200, involved: r.involved } }, headers }));
    case 'processDefinitions':
      return answer(await api.GET('/api/v1/process-definitions', { headers }));
    case 'countsByApplication':
      return answer(await api.GET('/api/v1/tasks/counts-by-application', { headers }));
    case 'attributes':
      return answer(await api.GET('/api/v1/tasks/attributes', { headers }));
    case 'attributeValues':
      return answer(await api.GET('/api/v1/tasks/attributes/{name}/values', { params: { path: { name: r.name } }, headers }));
    case 'outcomes':
      return answer(await api.GET('/api/v1/outcomes', { params: { query: { limit: 200 } }, headers }));
    case 'requests':
      return answer(await api.GET('/api/v1/requests', { params: { query: { limit: 100 } }, headers }));
    case 'completedTasks':
      return answer(await api.GET('/api/v1/completed-tasks', { params: { query: { limit: 200, offset: r.offset } }, headers }));
    case 'diagram':
      return answer(await api.GET('/api/v1/tasks/{id}/diagram', { params: { path: { id: r.id } }, headers }));
    case 'timeline':
      return answer(await api.GET('/api/v1/tasks/{id}/timeline', { params: { path: { id: r.id } }, headers }));
    case 'filters':
      return answer(await api.GET('/api/v1/filters', { headers }));
    case 'saveFilter':
      return answer(await api.POST('/api/v1/filters', { body: r.input, headers }));
    case 'updateFilter':
      return answer(await api.PUT('/api/v1/filters/{id}', { params: { path: { id: r.id } }, body: r.input, headers }));
    case 'deleteFilter': {
      const { response, error } = await api.DELETE('/api/v1/filters/{id}', { params: { path: { id: r.id } }, headers });
      if (!response.ok) throw new ApiError(problemOf(response.status, error));
      return null;
    }
    case 'start':
      return keyed(s, (headers) => api.POST('/api/v1/process-definitions/{id}/start', { params: { path: { id: r.id }, query: { wait: true } }, body: { values: r.values }, headers }));
    case 'act': {
      const params = { path: { id: r.id }, query: { wait: true } };
      const a = r.action;
      switch (a.kind) {
        case 'claim':
          return keyed(s, (headers) => api.POST('/api/v1/tasks/{id}/claim', { params, headers }));
        case 'unclaim':
          return keyed(s, (headers) => api.POST('/api/v1/tasks/{id}/unclaim', { params, headers }));
        case 'undefer':
          return keyed(s, (headers) => api.POST('/api/v1/tasks/{id}/undefer', { params, headers }));
        case 'complete':
          return keyed(s, (headers) => api.POST('/api/v1/tasks/{id}/complete', { params, body: { payload: a.payload }, headers }));
        case 'defer':
          return keyed(s, (headers) => api.POST('/api/v1/tasks/{id}/defer', { params, body: { followUpDate: a.followUpDate }, headers }));
        case 'assign':
          return keyed(s, (headers) => api.POST('/api/v1/tasks/{id}/assign', { params, body: { assignee: a.assignee }, headers }));
      }
      return unhandled(a);
    }
  }
  return unhandled(r);
}

const enc = encodeURIComponent;

/** A query string from the node's parameter types (the live stream's URL). */
export function toQuery(params: TaskListParams | TaskStreamParams): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null) q.set(k, String(v));
  }
  return q.toString();
}

export const http: Transport = {
  desktop: false,

  async login(user: string): Promise<Session> {
    const r = answer(await client.POST('/api/v1/dev/token', { body: { user } }));
    return { token: r.token, user: r.user, groups: r.groups };
  },

  async request<T>(s: Session, r: Request): Promise<T> {
    return (await send(client, s, r)) as T;
  },

  streamTasks(s: Session, params: TaskStreamParams, on: TaskStreamHandlers): Stream {
    const query = toQuery(params);
    const es = new EventSource(`/api/v1/stream/tasks?${query}${query ? '&' : ''}access_token=${enc(s.token ?? '')}`);
    let opened = false;
    es.addEventListener('snapshot', (e) => on.snapshot(JSON.parse((e as MessageEvent).data)));
    for (const kind of ['entered', 'changed', 'left']) {
      es.addEventListener(kind, (e) => on.live(JSON.parse((e as MessageEvent).data)));
    }
    es.onopen = () => {
      opened = true;
      on.state(true);
    };
    es.onerror = () => {
      on.state(false);
      // Refused before it ever opened: the query (or the server) is the problem.
      if (!opened) {
        es.close();
        const { from: _from, ...list } = params;
        send(client, s, { kind: 'tasks', params: { ...list, limit: 1 } })
          .then(() => on.failed('the server is unreachable'))
          .catch((e: Error) => on.failed(e.message));
      }
    };
    return { close: () => es.close() };
  },

  streamOutcomes(s: Session, on: (o: OutcomeRecord) => void): Stream {
    const es = new EventSource(`/api/v1/stream/outcomes?access_token=${enc(s.token ?? '')}`);
    es.addEventListener('outcome', (e) => on(JSON.parse((e as MessageEvent).data)));
    return { close: () => es.close() };
  },
};
