// The inbox's calls, over whichever transport this page runs on: IPC inside the
// desktop app, HTTP + SSE in a browser.

import type { ActionRequest, DataEntry, FormDocument, OutcomeRecord, ProcessDefinition, Task } from './types';
import type { ActionResponse } from './generated/ActionResponse';
import type { SavedFilter } from './generated/SavedFilter';
import type { CompletedPage } from './generated/CompletedPage';
import type { TimelineEntry } from './generated/TimelineEntry';
import type { Diagram } from './generated/Diagram';
import type { SavedFilterCalls } from './state/saved-filters.svelte';
import type { ApplicationCount } from './generated/ApplicationCount';
import type { TaskAction } from './generated/TaskAction';
import type { TaskListParams } from './generated/TaskListParams';
import type { TaskPage } from './generated/TaskPage';
import { http } from './transport/http';
import { ipc } from './transport/ipc';
import type { Session, Stream, TaskStreamHandlers, Transport } from './transport/transport';

import { ApiError } from './transport/transport';

export { ApiError };
export type { Session, Stream } from './transport/transport';

/** Inside the Tauri window. */
export const desktop: boolean = typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;

const transport: Transport = desktop ? ipc : http;

/** The desktop app's own calls (settings, user switcher, start-up figures). */
export const app = ipc;

export const login = (user: string): Promise<Session> => transport.login(user);

export const task = (s: Session, id: string): Promise<Task> => transport.request(s, { kind: 'task', id });

export const taskDataEntries = (s: Session, id: string): Promise<DataEntry[]> => transport.request(s, { kind: 'taskDataEntries', id });

/** The task's form; null when its application registered none. */
export const taskForm = (s: Session, id: string): Promise<FormDocument | null> => orNone(transport.request(s, { kind: 'taskForm', id }));

/** A definition's start form; null when it has none. */
export const startForm = (s: Session, id: string): Promise<FormDocument | null> => orNone(transport.request(s, { kind: 'startForm', id }));

/** A `no-form` answer is no form. */
async function orNone<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && e.problem.type.endsWith('/no-form')) return null;
    throw e;
  }
}

export const dataEntries = (s: Session, involved: boolean): Promise<DataEntry[]> => transport.request(s, { kind: 'dataEntries', involved });

export const processDefinitions = (s: Session): Promise<ProcessDefinition[]> => transport.request(s, { kind: 'processDefinitions' });

export const counts = (s: Session): Promise<ApplicationCount[]> => transport.request(s, { kind: 'countsByApplication' });

export const attributes = (s: Session): Promise<string[]> => transport.request(s, { kind: 'attributes' });

export const attributeValues = (s: Session, name: string): Promise<string[]> => transport.request(s, { kind: 'attributeValues', name });

export const outcomes = (s: Session): Promise<OutcomeRecord[]> => transport.request(s, { kind: 'outcomes' });

/** My latest requests to the owning applications, newest first, and where each stands. */
export const requests = (s: Session): Promise<ActionRequest[]> => transport.request(s, { kind: 'requests' });

/** A further page of the list (the live stream's snapshot is the first). */
export const tasksPage = (s: Session, params: TaskListParams, offset: number, limit: number): Promise<TaskPage> =>
  transport.request(s, { kind: 'tasks', params: { ...params, offset, limit } });

/**
 * Acts on a task; resolves once the owning application performed it (with the task as
 * the view shows it after the effect); rejects with the refusal or the expiry problem.
 */
export const act = (s: Session, id: string, action: TaskAction): Promise<ActionResponse> => transport.request(s, { kind: 'act', id, action });

/**
 * Starts a process of a definition I may start with its start form's values; resolves
 * once its application started it (the request names the instance; the task is its
 * first one I may see); rejects with the refusal or the expiry problem.
 */
export const start = (s: Session, id: string, values: Record<string, unknown>): Promise<ActionResponse> => transport.request(s, { kind: 'start', id, values });

/** The tasks I completed or could see when they were completed, newest first. */
export const completedTasks = (s: Session, offset = 0): Promise<CompletedPage> => transport.request(s, { kind: 'completedTasks', offset });

/** What happened to a task I may see, oldest first. */
export const timeline = (s: Session, id: string): Promise<TimelineEntry[]> => transport.request(s, { kind: 'timeline', id });

/** The diagram of a task's process, with where the task stands; null when none was registered. */
export const diagram = async (s: Session, id: string): Promise<Diagram | null> => {
  try {
    return await transport.request<Diagram>(s, { kind: 'diagram', id });
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && e.problem.type.endsWith('/no-diagram')) return null;
    throw e;
  }
};

/** My saved filters, with their counts; saving, changing and deleting them. */
export const savedFilters = (s: Session): SavedFilterCalls => ({
  list: () => transport.request<SavedFilter[]>(s, { kind: 'filters' }),
  save: (input) => transport.request<SavedFilter>(s, { kind: 'saveFilter', input }),
  update: (id, input) => transport.request<SavedFilter>(s, { kind: 'updateFilter', id, input }),
  remove: async (id) => {
    await transport.request<unknown>(s, { kind: 'deleteFilter', id });
  },
});

/** The live task stream: the snapshot, then changes (snapshot of up to 1000 rows). */
export function streamTasks(s: Session, params: TaskListParams, on: TaskStreamHandlers, notify = false): Stream {
  const { offset: _offset, cursor: _cursor, ...query } = params;
  return transport.streamTasks(s, { ...query, limit: 1000 }, on, notify);
}

/** The live command outcomes. */
export const streamOutcomes = (s: Session, on: (o: OutcomeRecord) => void): Stream => transport.streamOutcomes(s, on);
