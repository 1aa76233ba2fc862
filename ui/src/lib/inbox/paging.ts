// The windowed list: which rows of a long list to render.

/** The rows to render of a long list: a window around the scroll position. */
export function visibleWindow(count: number, scrollTop: number, viewport: number, rowHeight: number, overscan = 10): { start: number; end: number } {
  const first = Math.floor(scrollTop / rowHeight);
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, first + Math.ceil(viewport / rowHeight) + overscan);
  return { start, end: Math.max(start, end) };
}
