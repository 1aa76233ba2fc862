// My requests to the owning applications (claim, complete, …) and where each stands:
// the list the requests panel shows, newest first, one entry per request.

import type { ActionRequest } from '../types';

/** How many requests the panel keeps. */
export const REQUESTS_KEPT = 100;

/** Adds a request or replaces it with a later state of it; newest first. */
export function upsertRequest(list: ActionRequest[], r: ActionRequest): ActionRequest[] {
  const rest = list.filter((x) => x.requestId !== r.requestId);
  const known = list.find((x) => x.requestId === r.requestId);
  const merged = known ? { ...known, ...r } : r;
  return [merged, ...rest].sort((a, b) => (b.requestedAt ?? '').localeCompare(a.requestedAt ?? '')).slice(0, REQUESTS_KEPT);
}
