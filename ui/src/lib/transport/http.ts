// The HTTP + SSE transport to taskpool-server (the browser inbox). The live streams use
// EventSource, which reconnects by itself and sends Last-Event-ID, so the server
// resumes after the last position: nothing missed, nothing twice.

import type { Request } from '../generated/Request';
import type { TaskListParams } from '../generated/TaskListParams';
import type { TaskStreamParams } from '../generated/TaskStreamParams';
import { ApiError, problemOf, type Session, type Stream, type TaskStreamHandlers, type Transport } from './transport';
import type { OutcomeRecord } from '../types';

async function call<T>(token: string | null | undefined, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers['Authorization'] = `Bearer ${token}`;
  if (body !== undefined && body !== null) headers['Content-Type'] = 'application/json';
  const resp = await fetch(path, { method, headers, body: body === undefined || body === null ? undefined : JSON.stringify(body) });
  const json = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new ApiError(problemOf(resp.status, json));
  return json as T;
}

const enc = encodeURIComponent;

/** A query string from the node's parameter types (what the server decodes). */
export function toQuery(params: TaskListParams | TaskStreamParams): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null) q.set(k, String(v));
  }
  return q.toString();
}

/** The server's method, path and body for a request. */
export function route(r: Request): [string, string, unknown?] {
  switch (r.kind) {
    case 'tasks':
      return ['GET', `/api/v1/tasks?${toQuery(r.params)}`];
    case 'task':
      return ['GET', `/api/v1/tasks/${enc(r.id)}`];
    case 'taskDataEntries':
      return ['GET', `/api/v1/tasks/${enc(r.id)}/data-entries`];
    case 'dataEntries':
      return ['GET', `/api/v1/data-entries?limit=200&involved=${r.involved}`];
    case 'processDefinitions':
      return ['GET', '/api/v1/process-definitions'];
    case 'countsByApplication':
      return ['GET', '/api/v1/tasks/counts-by-application'];
    case 'attributes':
      return ['GET', '/api/v1/tasks/attributes'];
    case 'attributeValues':
      return ['GET', `/api/v1/tasks/attributes/${enc(r.name)}/values`];
    case 'outcomes':
      return ['GET', '/api/v1/outcomes?limit=200'];
    case 'act': {
      const path = `/api/v1/tasks/${enc(r.id)}/${r.action.kind}?wait=true`;
      const a = r.action;
      if (a.kind === 'complete') return ['POST', path, { payload: a.payload }];
      if (a.kind === 'defer') return ['POST', path, { followUpDate: a.followUpDate }];
      return ['POST', path];
    }
  }
}

export const http: Transport = {
  desktop: false,

  async login(user: string): Promise<Session> {
    const r = await call<{ token: string; user: string; groups: string[] }>(null, 'POST', '/api/v1/dev/token', { user });
    return { token: r.token, user: r.user, groups: r.groups };
  },

  request<T>(s: Session, r: Request): Promise<T> {
    const [method, path, body] = route(r);
    return call<T>(s.token, method, path, body);
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
        call(s.token, 'GET', `/api/v1/tasks?${toQuery({ ...list, limit: 1 })}`)
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
