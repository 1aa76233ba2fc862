// The HTTP + SSE transport to taskpool-server (the browser inbox). The live streams use
// EventSource, which reconnects by itself and sends Last-Event-ID, so the server
// resumes after the last position: nothing missed, nothing twice.

import type { Action, DataEntry, LiveItem, OutcomeRecord, ProcessDefinition, Snapshot, Task } from './types';

export class ApiError extends Error {
  constructor(public status: number, public problem: { detail?: string; code?: string; field?: string }) {
    super(problem.detail ?? `HTTP ${status}`);
  }
}

export interface Session {
  token: string;
  user: string;
  groups: string[];
}

async function call<T>(token: string | null, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers['Authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new ApiError(resp.status, json);
  return json as T;
}

export async function login(user: string): Promise<Session> {
  const r = await call<{ token: string; user: string; groups: string[] }>(null, 'POST', '/api/v1/dev/token', { user });
  return { token: r.token, user: r.user, groups: r.groups };
}

export function task(s: Session, id: string): Promise<Task> {
  return call(s.token, 'GET', `/api/v1/tasks/${encodeURIComponent(id)}`);
}

export function taskDataEntries(s: Session, id: string): Promise<DataEntry[]> {
  return call(s.token, 'GET', `/api/v1/tasks/${encodeURIComponent(id)}/data-entries`);
}

export function dataEntries(s: Session, involved: boolean): Promise<DataEntry[]> {
  return call(s.token, 'GET', `/api/v1/data-entries?limit=200${involved ? '&involved=true' : ''}`);
}

export function processDefinitions(s: Session): Promise<ProcessDefinition[]> {
  return call(s.token, 'GET', '/api/v1/process-definitions');
}

export function counts(s: Session): Promise<{ applicationName: string; count: number }[]> {
  return call(s.token, 'GET', '/api/v1/tasks/counts-by-application');
}

export function attributes(s: Session): Promise<string[]> {
  return call(s.token, 'GET', '/api/v1/tasks/attributes');
}

export function attributeValues(s: Session, name: string): Promise<string[]> {
  return call(s.token, 'GET', `/api/v1/tasks/attributes/${encodeURIComponent(name)}/values`);
}

export function outcomes(s: Session): Promise<OutcomeRecord[]> {
  return call(s.token, 'GET', '/api/v1/outcomes?limit=200');
}

/** Acts on a task; resolves with the answer once the view shows the request. */
export function act(s: Session, id: string, action: Action, body?: unknown): Promise<unknown> {
  return call(s.token, 'POST', `/api/v1/tasks/${encodeURIComponent(id)}/${action}?wait=true`, body ?? (action === 'complete' ? { payload: {} } : undefined));
}

export interface Stream {
  close(): void;
}

/** The live task stream: the snapshot, then changes. */
export function streamTasks(
  s: Session,
  query: string,
  on: { snapshot(s: Snapshot): void; live(i: LiveItem): void; state(connected: boolean): void },
): Stream {
  const sep = query ? '&' : '';
  const es = new EventSource(`/api/v1/stream/tasks?${query}${sep}limit=1000&access_token=${encodeURIComponent(s.token)}`);
  es.addEventListener('snapshot', (e) => on.snapshot(JSON.parse((e as MessageEvent).data)));
  for (const kind of ['entered', 'changed', 'left']) {
    es.addEventListener(kind, (e) => on.live(JSON.parse((e as MessageEvent).data)));
  }
  es.onopen = () => on.state(true);
  es.onerror = () => on.state(false);
  return { close: () => es.close() };
}

/** The live command outcomes. */
export function streamOutcomes(s: Session, on: (o: OutcomeRecord) => void): Stream {
  const es = new EventSource(`/api/v1/stream/outcomes?access_token=${encodeURIComponent(s.token)}`);
  es.addEventListener('outcome', (e) => on(JSON.parse((e as MessageEvent).data)));
  return { close: () => es.close() };
}
