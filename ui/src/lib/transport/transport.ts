// What the inbox needs from a task pool, whichever way it is reached: HTTP + SSE to a
// server (the browser inbox) or IPC to the desktop app's backend (Tauri). Every type
// that crosses is generated from the Rust types (src/lib/generated).

import type { LiveItem, OutcomeRecord, Snapshot } from '../types';
import type { Problem } from '../generated/Problem';
import type { Request } from '../generated/Request';
import type { Session as SignedIn } from '../generated/Session';
import type { TaskStreamParams } from '../generated/TaskStreamParams';

/** A refused call: the task pool's problem document (RFC 9457). */
export class ApiError extends Error {
  constructor(public problem: Problem) {
    super(problem.detail || `HTTP ${problem.status}`);
  }

  get status(): number {
    return this.problem.status;
  }
}

/** A problem document from whatever a call answered (a proxy's page has none). */
export function problemOf(status: number, body: unknown): Problem {
  const p = body as Partial<Problem> | null;
  if (p && typeof p === 'object' && typeof p.detail === 'string' && typeof p.status === 'number') return p as Problem;
  return { type: 'https://taskpool.dev/problems/unexpected-answer', title: 'Error', status, detail: `the server answered ${status}` };
}

/** Who is signed in; the HTTP transport also keeps the bearer token (the desktop app keeps its own). */
export type Session = SignedIn & { token?: string };

export interface Stream {
  close(): void;
}

export interface TaskStreamHandlers {
  snapshot(s: Snapshot): void;
  live(i: LiveItem): void;
  state(connected: boolean): void;
  /** The stream cannot go on (a refused query, say). */
  failed(message: string): void;
}

export interface Transport {
  /** Running inside the desktop app. */
  readonly desktop: boolean;
  login(user: string): Promise<Session>;
  request<T>(s: Session, r: Request): Promise<T>;
  /** The snapshot, then every relevant change; `notify`: desktop notifications. */
  streamTasks(s: Session, params: TaskStreamParams, on: TaskStreamHandlers, notify: boolean): Stream;
  streamOutcomes(s: Session, on: (o: OutcomeRecord) => void): Stream;
}
