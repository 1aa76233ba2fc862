// The API's shapes as the inbox uses them (see /api/v1/openapi.json).

export interface SourceReference {
  kind: string;
  instanceId: string;
  definitionKey: string;
  name: string;
  applicationName: string;
}

export interface Task {
  id: string;
  sourceReference: SourceReference;
  taskDefinitionKey: string;
  name: string;
  description?: string;
  priority: number;
  assignee?: string;
  candidateUsers?: string[];
  candidateGroups?: string[];
  createTime: string;
  dueDate?: string;
  followUpDate?: string;
  businessKey?: string;
  payload: Record<string, unknown>;
}

export interface Snapshot {
  position: number;
  tasks: Task[];
  total: number;
}

export type LiveItem =
  | { change: 'entered'; position: number; task: Task }
  | { change: 'changed'; position: number; task: Task }
  | { change: 'left'; position: number; taskId: string };

export interface OutcomeRecord {
  id: number;
  time: string;
  commandType: string;
  aggregateId: string;
  application: string;
  accepted: boolean;
  code: string;
  message: string;
}

export type QuickView = 'mine' | 'claimable' | 'deferred' | 'all';
export type Action = 'claim' | 'unclaim' | 'complete' | 'defer' | 'undefer';

export interface ProtocolEntry {
  time: string;
  username?: string;
  state: { processingType: string; state: string };
  logMessage?: string;
}

export interface DataEntry {
  entryType: string;
  entryId: string;
  name: string;
  type: string;
  applicationName: string;
  state: { processingType: string; state: string };
  protocol?: ProtocolEntry[];
}

export interface ProcessDefinition {
  id: string;
  key: string;
  name: string;
  description?: string;
  applicationName: string;
}
