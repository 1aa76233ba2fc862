// What the inbox needs from a task pool, whichever way it is reached: HTTP + SSE to a
// server (the browser inbox) or IPC to the desktop app's backend (Tauri).

import type { LiveItem, OutcomeRecord, Snapshot } from '../types';
import type { Request } from '../generated/Request';

export class ApiError extends Error {
  constructor(public status: number, public problem: { detail?: string; code?: string | null; field?: string | null }) {
    super(problem.detail ?? `HTTP ${status}`);
  }
}

export interface Session {
  user: string;
  groups: string[];
  /** The bearer token (HTTP transport only; the desktop app keeps its own). */
  token?: string;
}

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
  streamTasks(s: Session, query: string, on: TaskStreamHandlers, notify: boolean): Stream;
  streamOutcomes(s: Session, on: (o: OutcomeRecord) => void): Stream;
}
