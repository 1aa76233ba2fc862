// The outcome panel's chart: outcomes per minute.

export interface Bucket {
  accepted: number;
  rejected: number;
}

/** Outcomes per minute over the last `minutes` minutes, oldest first (the panel's chart). */
export function outcomeBuckets(outcomes: { time: string; accepted: boolean }[], now: number, minutes: number): Bucket[] {
  const buckets: Bucket[] = Array.from({ length: minutes }, () => ({ accepted: 0, rejected: 0 }));
  for (const o of outcomes) {
    const age = Math.floor((now - new Date(o.time).getTime()) / 60000);
    if (age < 0 || age >= minutes || Number.isNaN(age)) continue;
    const b = buckets[minutes - 1 - age];
    if (o.accepted) b.accepted++;
    else b.rejected++;
  }
  return buckets;
}
