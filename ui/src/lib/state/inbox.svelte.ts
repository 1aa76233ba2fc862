// The inbox page's shared state and what changes it: the session, the live list (a
// snapshot, then live items merged by position), the selection, pending actions, the
// outcome log and the business pages. Components read it and call its methods; pure
// rules stay in lib/inbox (merge, sort, paging, pending, query).

import { tick } from 'svelte';
import * as api from '../api';
import { addClause, answerMessage, noNotice, pendingMessage, shownNotice, taskLabel, parseSortParam, titleWith, unseenAfter, upsertRequest, appendPage, applyLive, buildQuery, clause, clearMarks, empty, fromSnapshot, refreshDelay, settlePending, sortParam, sortRows, startPending, toggleSort } from '../inbox';
import type { Inbox, Notice, Pending, SortField, SortKey } from '../inbox';
import type { AppInfo } from '../generated/AppInfo';
import type { ApplicationCount } from '../generated/ApplicationCount';
import type { SettingsInput } from '../generated/SettingsInput';
import type { SavedFilter } from '../generated/SavedFilter';
import { SavedFilters } from './saved-filters.svelte';
import { t } from '../i18n/index.svelte';
import type { CompletedTask } from '../generated/CompletedTask';
import type { TimelineEntry } from '../generated/TimelineEntry';
import type { Diagram } from '../generated/Diagram';
import type { ActionRequest, Action, DataEntry, FormDocument, OutcomeRecord, ProcessDefinition, QuickView, TaskAction, TaskListParams } from '../types';

export type Page = 'inbox' | 'completed' | 'data' | 'processes';

/** How long live items may pile up before the counts per application are asked again. */
const COUNTS_AFTER_MS = 1500;

export class InboxPage {
  session = $state<api.Session | null>(null);
  info = $state<AppInfo | null>(null);
  loginError = $state('');
  settingsError = $state('');
  inbox = $state<Inbox>(empty);
  view = $state<QuickView>('all');
  filter = $state('');
  text = $state('');
  /** The list query in force (the live stream's and the further pages'). */
  applied = $state<TaskListParams>({});
  connected = $state(false);
  selectedId = $state<string | null>(null);
  pending = $state<Pending[]>([]);
  /** The last thing the user was told (see `shownNotice`). */
  notice = $state<Notice>(noNotice);
  outcomes = $state<OutcomeRecord[]>([]);
  /** My latest requests to the owning applications, newest first. */
  requests = $state<ActionRequest[]>([]);
  counts = $state<ApplicationCount[]>([]);
  attributeNames = $state<string[]>([]);
  sortKeys = $state<SortKey[]>([{ field: 'due', desc: false }]);
  queryError = $state('');
  page = $state<Page>('inbox');
  entries = $state<DataEntry[]>([]);
  involvedOnly = $state(false);
  definitions = $state<ProcessDefinition[]>([]);
  detailEntries = $state<DataEntry[]>([]);
  /** Tasks that entered the list while the window was not looked at. */
  unseen = $state(0);
  /** The history: my completed tasks, the one chosen and its timeline. */
  completed = $state<CompletedTask[]>([]);
  completedTotal = $state(0);
  completedId = $state<string | null>(null);
  completedTimeline = $state<TimelineEntry[]>([]);
  /** The selected task's process diagram (loaded when its section opens). */
  detailDiagram = $state<Diagram | null>(null);
  /** The selected task's timeline. */
  detailTimeline = $state<TimelineEntry[]>([]);
  /** My saved filters (made at sign-in). */
  saved = $state<SavedFilters | null>(null);
  /** The definition being started, its start form, and how the start went. */
  starting = $state<ProcessDefinition | null>(null);
  startForm = $state<FormDocument | null>(null);
  /** The start form is on its way (nothing may be started before it is there). */
  startFormLoading = $state(false);
  startPending = $state(false);
  startMessage = $state('');
  /** The selected task's form (null: none registered, or not loaded yet). */
  detailForm = $state<FormDocument | null>(null);

  readonly selected = $derived(this.inbox.rows.find((r) => r.task.id === this.selectedId)?.task);
  readonly shown = $derived(sortRows(this.inbox.rows, this.sortKeys));
  /** What the detail shows of the notice: nothing about another task. */
  readonly shownNotice = $derived(shownNotice(this.notice, this.selected?.id));
  readonly selectedPending = $derived(this.selected !== undefined && this.pending.some((p) => p.taskId === this.selected?.id));

  #loadingMore = false;
  #painted = false;
  #stream: api.Stream | null = null;
  #outcomeStream: api.Stream | null = null;
  #markTimer: ReturnType<typeof setTimeout> | null = null;
  #refreshTimer: ReturnType<typeof setTimeout> | null = null;
  #countsTimer: ReturnType<typeof setTimeout> | null = null;

  /** The desktop app: its settings and the session it may already have. */
  async start() {
    if (!api.desktop) return;
    // A click on a desktop notification opens its task.
    void api.app.onOpenTask((id) => this.openTask(id));
    try {
      this.info = await api.app.appInfo();
      if (this.info.session) await this.#begin(this.info.session);
      else if (this.info.autoUser) await this.login(this.info.autoUser);
    } catch (e) {
      this.loginError = (e as Error).message;
    }
  }

  async login(user: string) {
    this.loginError = '';
    try {
      await this.#begin(await api.login(user));
    } catch (e) {
      this.loginError = (e as Error).message;
    }
  }

  async #begin(s: api.Session) {
    this.session = s;
    this.saved = new SavedFilters(api.savedFilters(s));
    void this.saved.load();
    this.connect();
    try {
      this.outcomes = await api.outcomes(s);
      this.requests = await api.requests(s);
      this.#outcomeStream = api.streamOutcomes(s, (o) => (this.outcomes = [o, ...this.outcomes.filter((x) => x.id !== o.id)].slice(0, 500)));
      this.attributeNames = await api.attributes(s);
      this.counts = await api.counts(s);
    } catch (e) {
      this.notice = { text: (e as Error).message };
    }
  }

  async signOut() {
    this.close();
    this.session = null;
    this.saved = null;
    this.inbox = empty;
    this.outcomes = [];
    this.requests = [];
    this.selectedId = null;
    this.#painted = false;
    this.view = 'all';
    this.filter = this.text = '';
    this.page = 'inbox';
    if (api.desktop) await api.app.logout();
  }

  async saveSettings(input: SettingsInput) {
    this.settingsError = '';
    try {
      await this.signOut();
      this.info = await api.app.saveSettings(input);
      if (this.info.error) this.settingsError = this.info.error;
    } catch (e) {
      this.settingsError = (e as Error).message;
    }
  }

  /** The next page of the list, when the window nears the end of what is loaded. */
  async loadMore() {
    const s = this.session;
    if (!s || this.#loadingMore || this.inbox.rows.length >= this.inbox.total) return;
    this.#loadingMore = true;
    const query = this.applied;
    try {
      const next = await api.tasksPage(s, query, this.inbox.rows.length, 500);
      if (query === this.applied) this.inbox = appendPage(this.inbox, next.tasks, next.total);
    } catch (e) {
      this.notice = { text: (e as Error).message };
    } finally {
      this.#loadingMore = false;
    }
  }

  /** Live items come in bursts: the counts per application are asked once after one. */
  #refreshCountsSoon(s: api.Session) {
    if (this.#countsTimer) return;
    this.#countsTimer = setTimeout(() => {
      this.#countsTimer = null;
      api.counts(s).then((c) => (this.counts = c)).catch(() => {});
      // Requests answered elsewhere (another window, another node) show up too.
      api.requests(s).then((r) => (this.requests = r)).catch(() => {});
      void this.saved?.load();
    }, COUNTS_AFTER_MS);
  }

  /** (Re)opens the live list for the current view, filter, search and sort. */
  connect(refresh = false) {
    const s = this.session;
    if (!s) return;
    this.#stream?.close();
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = null;
    this.applied = buildQuery(this.view, this.filter, this.text, sortParam(this.sortKeys));
    this.queryError = '';
    this.#stream = api.streamTasks(s, this.applied, {
      snapshot: (snap) => {
        this.inbox = fromSnapshot(snap, refresh ? this.inbox : undefined);
        // A deferred task falling due is no event: take a fresh snapshot then.
        const delay = refreshDelay(snap.nextFollowUp, Date.now());
        if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
        this.#refreshTimer = delay === null ? null : setTimeout(() => this.connect(true), delay);
        if (api.desktop && !this.#painted) {
          this.#painted = true;
          void tick().then(() => requestAnimationFrame(() => void api.app.firstPaint(this.inbox.rows.length, this.inbox.total)));
        }
      },
      live: (item) => {
        this.inbox = applyLive(this.inbox, item);
        this.#setUnseen(unseenAfter(this.unseen, item, looking()));
        if (this.#markTimer) clearTimeout(this.#markTimer);
        this.#markTimer = setTimeout(() => (this.inbox = clearMarks(this.inbox)), 2500);
        this.#refreshCountsSoon(s);
      },
      state: (c) => (this.connected = c),
      failed: (m) => {
        this.connected = false;
        this.queryError = m;
      },
    }, this.view === 'all' && !this.filter && !this.text);
  }

  /**
   * Sends an action on the selected task; pending until the owning application
   * answered: done, refused with its reason, or no answer in time.
   */
  async act(action: Action, request: TaskAction) {
    const s = this.session;
    const selected = this.selected;
    if (!s || !selected) return;
    const id = selected.id;
    const label = taskLabel(selected);
    const tell = (text: string) => (this.notice = { text, taskId: id, action });
    this.pending = startPending(this.pending, id, action, Date.now());
    tell(pendingMessage(action, label));
    try {
      const answer = await api.act(s, id, request);
      this.requests = upsertRequest(this.requests, answer.request);
      tell(answerMessage(action, label, {}));
    } catch (e) {
      // A problem document, or a failure that never reached a node (network, IPC).
      const problem = e instanceof api.ApiError ? e.problem : { type: 'about:blank', title: 'Error', status: 0, detail: String(e) };
      if (problem.request) this.requests = upsertRequest(this.requests, problem.request);
      tell(answerMessage(action, label, { problem }));
    } finally {
      this.pending = settlePending(this.pending, id);
      // What it did (or why not) belongs to the task's history.
      if (this.selectedId === id) {
        api
          .timeline(s, id)
          .then((t) => {
            if (this.selectedId === id) this.detailTimeline = t;
          })
          .catch(() => {});
      }
    }
  }

  /** Tells the user something about the selected task (a form's own refusal). */
  tellAboutSelected(text: string) {
    this.notice = { text, taskId: this.selected?.id };
  }

  /** Adds a clause for an attribute's first value to the filter. */
  suggest(name: string) {
    const s = this.session;
    if (!s) return;
    api.attributeValues(s, name).then((values) => {
      if (values[0] !== undefined) this.filter = addClause(this.filter, clause(name, values[0]));
    });
  }

  /** The selected task's business data and form. */
  loadDetail(id: string | null) {
    const s = this.session;
    this.detailForm = null;
    this.detailTimeline = [];
    this.detailDiagram = null;
    if (s && id) {
      // Answers for a task no longer selected are dropped (they may come in any order).
      api
        .taskDataEntries(s, id)
        .then((e) => {
          if (this.selectedId === id) this.detailEntries = e;
        })
        .catch(() => {
          if (this.selectedId === id) this.detailEntries = [];
        });
      api
        .timeline(s, id)
        .then((t) => {
          if (this.selectedId === id) this.detailTimeline = t;
        })
        .catch(() => {
          if (this.selectedId === id) this.detailTimeline = [];
        });
      api
        .taskForm(s, id)
        .then((f) => {
          if (this.selectedId === id) this.detailForm = f;
        })
        .catch((e: Error) => {
          const task = this.selected;
          const label = task && task.id === id ? taskLabel(task) : id;
          this.notice = { text: t('form.loadFailed', { task: label, error: e.message }), taskId: id };
        });
    } else this.detailEntries = [];
  }

  async openPage(p: Page) {
    this.page = p;
    const s = this.session;
    if (!s) return;
    if (p === 'data') this.entries = await api.dataEntries(s, this.involvedOnly);
    if (p === 'processes') this.definitions = await api.processDefinitions(s);
    if (p === 'completed') {
      const page = await api.completedTasks(s);
      this.completed = page.tasks;
      this.completedTotal = page.total;
      if (this.completedId && !page.tasks.some((c) => c.task.id === this.completedId)) this.completedId = null;
    }
  }

  /** The window is looked at again: nothing is unseen. */
  seen() {
    if (this.unseen > 0) this.#setUnseen(0);
  }

  #setUnseen(n: number) {
    if (n === this.unseen) return;
    this.unseen = n;
    if (typeof document !== 'undefined') document.title = titleWith('Taskpool inbox', n);
    if (api.desktop) void api.app.setUnseen(n).catch(() => {});
  }

  /** Loads the selected task's process diagram. */
  loadDiagram() {
    const s = this.session;
    const id = this.selectedId;
    if (!s || !id) return;
    api
      .diagram(s, id)
      .then((d) => {
        if (this.selectedId === id) this.detailDiagram = d;
      })
      .catch((e: Error) => (this.notice = { text: e.message, taskId: id }));
  }

  /** What a task is called, as far as this page knows (its id otherwise). */
  taskName(id: string): string {
    return this.inbox.rows.find((r) => r.task.id === id)?.task.name ?? this.completed.find((c) => c.task.id === id)?.task.name ?? id;
  }

  /** What a request concerns: its task's or its process's name. */
  requestName(r: ActionRequest): string {
    if (r.taskId) return this.taskName(r.taskId);
    const d = this.definitions.find((x) => x.id === r.definitionId);
    return d?.name ?? r.definitionId ?? '';
  }

  /** Shows a completed task and its timeline. */
  async chooseCompleted(id: string) {
    this.completedId = id;
    this.completedTimeline = [];
    const s = this.session;
    if (!s) return;
    try {
      const entries = await api.timeline(s, id);
      if (this.completedId === id) this.completedTimeline = entries;
    } catch (e) {
      this.notice = { text: (e as Error).message };
    }
  }

  /** Shows a definition's start form (null: closes it). */
  async chooseStart(d: ProcessDefinition | null) {
    this.starting = d;
    this.startForm = null;
    this.startMessage = '';
    const s = this.session;
    if (!s || !d) return;
    this.startFormLoading = true;
    try {
      const form = await api.startForm(s, d.id);
      if (this.starting?.id === d.id) this.startForm = form;
    } catch (e) {
      this.startMessage = t('start.formFailed', { error: (e as Error).message });
    } finally {
      if (this.starting?.id === d.id) this.startFormLoading = false;
    }
  }

  /**
   * Asks the owning application to start a process; pending until it answered. Started:
   * its first task (when I may see it) opens in the inbox; refused: its reason shows.
   */
  async startProcess(d: ProcessDefinition, values: Record<string, unknown>) {
    const s = this.session;
    if (!s || this.startPending) return;
    this.startPending = true;
    this.startMessage = t('start.pending', { name: d.name });
    try {
      const answer = await api.start(s, d.id, values);
      this.requests = upsertRequest(this.requests, answer.request);
      this.startMessage = t('start.done', { name: d.name });
      if (answer.task) {
        this.starting = null;
        this.openTask(answer.task.id);
        this.notice = { text: t('start.started', { name: d.name, task: answer.task.name }), taskId: answer.task.id };
      }
    } catch (e) {
      const problem = e instanceof api.ApiError ? e.problem : { type: 'about:blank', title: 'Error', status: 0, detail: String(e) };
      if (problem.request) this.requests = upsertRequest(this.requests, problem.request);
      this.startMessage = problem.code === 'REQUEST_REJECTED' ? t('start.refusedBy', { name: d.name, app: problem.request?.applicationName ?? t('answer.itsApplication'), detail: problem.detail }) : t('start.failed', { name: d.name, detail: problem.detail });
    } finally {
      this.startPending = false;
    }
  }

  /**
   * Opens a task in the inbox (from an outcome, a notification, a start): selected, and
   * when the quick view, filter or search in use hide it, every task of mine shown.
   */
  openTask(id: string) {
    if (!this.session) return;
    this.page = 'inbox';
    const shown = this.inbox.rows.some((r) => r.task.id === id);
    if (!shown && (this.view !== 'all' || this.filter || this.text)) {
      this.view = 'all';
      this.filter = this.text = '';
      this.connect();
    }
    this.selectedId = id;
  }

  /** Shows what a saved filter holds. */
  chooseSaved(f: SavedFilter) {
    if (!this.saved) return;
    const chosen = this.saved.choose(f);
    this.view = chosen.view;
    this.filter = chosen.filter;
    this.text = chosen.text;
    this.sortKeys = parseSortParam(chosen.sort);
    this.connect();
  }

  /** Saves what the inbox shows now under `name`. */
  saveFilter(name: string): Promise<boolean> {
    return this.saved?.save(name, { view: this.view, filter: this.filter, text: this.text, sort: sortParam(this.sortKeys) }) ?? Promise.resolve(false);
  }

  setView(v: QuickView) {
    this.view = v;
    this.applyFilter();
  }

  /** Applies what the filter bar holds (no saved filter is shown as chosen any more). */
  applyFilter() {
    if (this.saved) this.saved.activeId = null;
    this.connect();
  }

  sortBy(field: SortField, add: boolean) {
    this.sortKeys = toggleSort(this.sortKeys, field, add);
    this.connect();
  }

  /** Closes the streams and timers. */
  close() {
    for (const t of [this.#refreshTimer, this.#countsTimer, this.#markTimer]) if (t) clearTimeout(t);
    this.#refreshTimer = this.#countsTimer = this.#markTimer = null;
    this.#stream?.close();
    this.#outcomeStream?.close();
    this.#stream = this.#outcomeStream = null;
  }
}

/** Someone looks at the window: it is visible and has the focus. */
function looking(): boolean {
  return typeof document === 'undefined' || (document.visibilityState === 'visible' && document.hasFocus());
}
