// The API's shapes. Those shared with Rust are generated from the Rust types (ts-rs,
// `generated/`, checked current by `cargo test -p taskpool-tests --test
// typescript_bindings`); only UI-side names live here.

export type { Task } from './generated/Task';
export type { SourceReference } from './generated/SourceReference';
export type { Snapshot } from './generated/Snapshot';
export type { LiveItem } from './generated/LiveItem';
export type { OutcomeRecord } from './generated/OutcomeRecord';
export type { ActionRequest } from './generated/ActionRequest';
export type { RequestState } from './generated/RequestState';
export type { DataEntry } from './generated/DataEntry';
export type { ProtocolEntry } from './generated/ProtocolEntry';
export type { ProcessDefinition } from './generated/ProcessDefinition';
export type { FormDocument } from './generated/FormDocument';

export type { Problem } from './generated/Problem';
export type { TaskAction } from './generated/TaskAction';
export type { TaskListParams } from './generated/TaskListParams';

import type { TaskAction } from './generated/TaskAction';

export type QuickView = 'mine' | 'claimable' | 'deferred' | 'all';
/** An action's name (the node's `TaskAction` without what it carries). */
export type Action = TaskAction['kind'];
