// The IPC transport inside the desktop app: Tauri commands for requests, a Tauri
// channel per live stream. The Rust backend (embedded task pool or remote server)
// answers with the same documents the server sends over HTTP.

import { Channel, invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type { AppInfo } from '../generated/AppInfo';
import type { Problem } from '../generated/Problem';
import type { Request } from '../generated/Request';
import type { TaskStreamParams } from '../generated/TaskStreamParams';
import type { SettingsInput } from '../generated/SettingsInput';
import type { StreamMessage } from '../generated/StreamMessage';
import type { OutcomeRecord } from '../types';
import { ApiError, problemOf, type Session, type Stream, type TaskStreamHandlers, type Transport } from './transport';

async function command<T>(name: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(name, args);
  } catch (e) {
    // The backend's problem document; Tauri itself answers with a string.
    const err = e as Problem | string;
    if (typeof err === 'string') throw new ApiError({ ...problemOf(500, null), detail: err });
    throw new ApiError(problemOf(err.status ?? 500, err));
  }
}

/** Opens a stream whose messages arrive on a channel; close() works before it opened. */
function open(name: string, args: Record<string, unknown>, on: (m: StreamMessage) => void, failed: (m: string) => void): Stream {
  let closed = false;
  let id: number | null = null;
  const channel = new Channel<StreamMessage>();
  channel.onmessage = (m) => {
    if (!closed) on(m);
  };
  command<number>(name, { ...args, channel })
    .then((opened) => {
      id = opened;
      if (closed) void command('close_stream', { id });
    })
    .catch((e: Error) => failed(e.message));
  return {
    close() {
      closed = true;
      if (id !== null) void command('close_stream', { id });
    },
  };
}

export const ipc: Transport & {
  appInfo(): Promise<AppInfo>;
  saveSettings(input: SettingsInput): Promise<AppInfo>;
  logout(): Promise<void>;
  firstPaint(rows: number, total: number): Promise<void>;
  /** How many tasks arrived unseen (the window's title and badge). */
  setUnseen(count: number): Promise<void>;
  /** A desktop notification about a task was clicked: `open` gets its id. */
  onOpenTask(open: (taskId: string) => void): Promise<() => void>;
} = {
  desktop: true,

  login: (user: string) => command<Session>('login', { user }),

  request: <T>(_s: Session, request: Request) => command<T>('request', { request }),

  streamTasks(_s: Session, params: TaskStreamParams, on: TaskStreamHandlers, notify: boolean): Stream {
    return open(
      'stream_tasks',
      { params, notify },
      (m) => {
        if (m.kind === 'snapshot') on.snapshot(m.snapshot);
        else if (m.kind === 'live') on.live(m.item);
        else if (m.kind === 'state') on.state(m.connected);
        else if (m.kind === 'failed') on.failed(m.error.detail);
      },
      (message) => {
        on.state(false);
        on.failed(message);
      },
    );
  },

  streamOutcomes(_s: Session, on: (o: OutcomeRecord) => void): Stream {
    return open('stream_outcomes', {}, (m) => m.kind === 'outcome' && on(m.outcome), () => {});
  },

  appInfo: () => command<AppInfo>('app_info'),
  saveSettings: (input: SettingsInput) => command<AppInfo>('save_settings', { input }),
  logout: () => command<void>('logout'),
  firstPaint: (rows: number, total: number) => command<void>('first_paint', { rows, total }),
  setUnseen: (count: number) => command<void>('set_unseen', { count }),
  onOpenTask: (open: (taskId: string) => void) => listen<string>('open-task', (e) => open(e.payload)),
};
