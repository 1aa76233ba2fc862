// Browser end-to-end test of the inbox against the real server with --example, in Debian's
// Chromium driven by Playwright: two users sign in, filter, claim (the example engine
// performs it), complete through the task's form (a required field blocks it; the task
// leaves), see the outcome panel, start a process through its start form (its first task
// opens), and the second user's list changes live when a task of their shared group is
// claimed.
//   node e2e/inbox.e2e.mjs SERVER_BINARY        (ui/dist must be built)
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';

const here = dirname(fileURLToPath(import.meta.url));
const serverBin = process.argv[2];
if (!serverBin) throw new Error('usage: node e2e/inbox.e2e.mjs SERVER_BINARY');
const shots = resolve(here, '../../docs/screenshots');
mkdirSync(shots, { recursive: true });
const dataDir = mkdtempSync(join(tmpdir(), 'taskpool-e2e-'));

const server = spawn(serverBin, ['--data-dir', dataDir, '--listen', '127.0.0.1:0', '--example', '--example-rate', '0', '--ui-dir', resolve(here, '../dist'), '--print-address'], { stdio: ['ignore', 'pipe', 'inherit'] });
const base = await new Promise((ok, fail) => {
  const rl = createInterface({ input: server.stdout });
  rl.once('line', (l) => ok(l.replace('listening on ', '').trim()));
  server.once('exit', (c) => fail(new Error(`server exited ${c}`)));
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
const step = (s) => console.log(`e2e: ${s}`);

/** Asks `ok` every 100 ms until it holds; fails naming `what` after `ms`. */
async function waitFor(ok, what, ms = 15000) {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
/** axe-core on what `page` shows now: no serious or critical violation. */
async function accessible(page, what) {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    const lines = bad.map((v) => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`);
    throw new Error(`accessibility of ${what}:\n${lines.join('\n')}`);
  }
  step(`axe-core: no serious or critical violation on ${what} (${result.violations.length} minor)`);
}

/** Every page opened, for a picture of each when a step fails. */
const pages = [];
try {
  const open = async (user) => {
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    pages.push([user, page]);
    await page.goto(base);
    await page.getByTestId(`login-${user}`).click();
    await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 10000 });
    return page;
  };
  const ids = (page) => page.getByTestId('task-row').evaluateAll((rows) => rows.map((r) => r.dataset.taskId));

  const bob = await open('bob');
  const alice = await open('alice');
  step('bob and alice signed in');
  await bob.getByTestId('task-row').first().waitFor({ timeout: 10000 });
  await bob.screenshot({ path: join(shots, 'inbox.png') });
  await accessible(bob, 'the inbox');

  // Filter: only triage tasks. alice (approvers and support) sees approvals too, so a
  // filter that did nothing would show them.
  await alice.getByTestId('task-row').first().waitFor({ timeout: 10000 });
  const before = await alice.getByTestId('task-row').allTextContents();
  if (!before.some((t) => !t.includes('Triage'))) throw new Error(`alice should see more than triage tasks: ${before}`);
  await alice.getByTestId('filter').fill('task.taskDefinitionKey = triage');
  await alice.getByTestId('apply').click();
  await alice.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid=task-row]')];
    return rows.length > 0 && rows.every((r) => r.textContent.includes('Triage'));
  }, null, { timeout: 10000 });
  // Saved: named, kept by the pool, still there after a reload with its count.
  await alice.getByTestId('saved-name').fill('Triage');
  await alice.getByTestId('save-filter').click();
  const savedTriage = alice.locator('[data-testid=saved-filter][data-name=Triage]');
  await savedTriage.waitFor({ timeout: 10000 });
  const triageCount = (await alice.getByTestId('task-row').count()).toString();
  await alice.reload();
  await alice.getByTestId(`login-alice`).click();
  await alice.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 10000 });
  await savedTriage.getByTestId('saved-count').filter({ hasText: new RegExp(`^${triageCount}$`) }).waitFor({ timeout: 10000 });
  await savedTriage.click();
  await alice.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid=task-row]')];
    return rows.length > 0 && rows.every((r) => r.textContent.includes('Triage'));
  }, null, { timeout: 10000 });
  step(`the filter shows only triage tasks; saved as "Triage" (${triageCount}), it is there after a reload and applies again`);
  await alice.getByTestId('filter').fill('');
  await alice.getByTestId('apply').click();

  // Both on their claimable tasks; one task of group support is in both lists.
  await bob.getByTestId('filter').fill('');
  await bob.getByTestId('view-claimable').click();
  await alice.getByTestId('view-claimable').click();
  // Claimable lists show no assignee: wait until each page shows its claimable list, not
  // the one before it.
  const claimableShown = () => {
    const rows = [...document.querySelectorAll('[data-testid=task-row]')];
    return rows.length > 0 && rows.every((r) => r.querySelectorAll('td')[5].textContent.trim() === '');
  };
  await bob.waitForFunction(claimableShown, null, { timeout: 10000 });
  const bobIds = await ids(bob);
  await alice.waitForFunction(claimableShown, null, { timeout: 10000 });
  const shared = (await ids(alice)).find((id) => bobIds.includes(id));
  if (!shared) throw new Error('no claimable task shared by bob and alice');

  // bob claims it: pending until the engine assigned it and the view shows it.
  await bob.locator(`[data-testid=task-row][data-task-id="${shared}"]`).click();
  await bob.getByTestId('action-claim').click();
  await bob.locator(`[data-testid=message][data-task-id="${shared}"][data-action=claim]`).filter({ hasText: /^claim of “.+”: done$/ }).waitFor({ timeout: 15000 });
  step(`bob claimed ${shared}`);
  // alice's list changes live: the task is no longer claimable for her.
  await alice.locator(`[data-testid=task-row][data-task-id="${shared}"]`).waitFor({ state: 'detached', timeout: 10000 });
  step('alice saw it leave her claimable list, live');

  // Both claim another shared task at the same moment: one gets it, the other is told
  // it was refused and who holds it (the engine's reason, or the pool's when the first
  // claim had already been performed).
  const bobNow = await ids(bob);
  const contested = (await ids(alice)).find((id) => bobNow.includes(id));
  if (!contested) throw new Error('no second claimable task shared by bob and alice');
  await bob.locator(`[data-testid=task-row][data-task-id="${contested}"]`).click();
  // What bob was told about the task he claimed is not shown under another.
  await bob.waitForFunction((id) => document.querySelector('[data-testid=detail]')?.getAttribute('data-task-id') === id
    && document.querySelector('[data-testid=message]')?.textContent === '', contested, { timeout: 5000 });
  await alice.locator(`[data-testid=task-row][data-task-id="${contested}"]`).click();
  // Both details settled (the task's form rendered, the buttons in place), so that both
  // clicks land at the same moment.
  for (const page of [bob, alice]) await page.getByTestId('form').getByLabel('Incident').waitFor({ timeout: 10000 });
  // Clicked in the page itself (no waiting for the button to hold still): the first
  // claim's answer may remove the task from the other list within milliseconds.
  const claimNow = (page) => page.evaluate(() => document.querySelector('[data-testid=action-claim]').click());
  await Promise.all([claimNow(bob), claimNow(alice)]);
  const answered = (page) => page.locator(`[data-testid=message][data-task-id="${contested}"][data-action=claim]`).filter({ hasText: /: done| refused/ }).textContent({ timeout: 15000 });
  const [toBob, toAlice] = await Promise.all([answered(bob), answered(alice)]);
  const winner = toBob.includes(': done') ? 'bob' : 'alice';
  const refused = winner === 'bob' ? toAlice : toBob;
  if (!(toBob.includes(': done') !== toAlice.includes(': done'))) throw new Error(`exactly one claim must win: ${toBob} / ${toAlice}`);
  if (!refused.includes('refused') || !refused.includes(winner)) throw new Error(`the refusal must say who holds it: ${refused}`);
  step(`a contested claim: ${winner} got it; the other was told "${refused}"`);

  // The engine refuses what the pool allows: alice may approve requests (approvers),
  // but not her own (the example engine's four-eyes rule). She is told its reason.
  await alice.getByTestId('view-all').click();
  await alice.getByTestId('filter').fill('task.taskDefinitionKey = approve and requester = alice');
  await alice.getByTestId('apply').click();
  await alice.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid=task-row]')];
    return rows.length === 1 && rows[0].textContent.includes('Standing desks');
  }, null, { timeout: 10000 });
  const own = (await ids(alice))[0];
  await alice.locator(`[data-testid=task-row][data-task-id="${own}"]`).click();
  await alice.getByTestId('action-claim').click();
  await alice.locator(`[data-testid=message][data-task-id="${own}"]`).filter({ hasText: 'refused by example: alice requested this: another approver must decide (four-eyes rule)' }).waitFor({ timeout: 15000 });
  const row = alice.locator(`[data-testid=request-row][data-task-id="${own}"][data-state=rejected]`);
  if (!(await row.textContent({ timeout: 10000 })).includes('four-eyes rule')) throw new Error('the requests panel lacks the reason');
  await alice.screenshot({ path: join(shots, 'refused.png') });
  step('the engine refused alice approving her own request; she was told why, and her requests panel shows it'); 
  await alice.getByTestId('filter').fill('');
  await alice.getByTestId('apply').click();

  // bob completes it from his tasks through its form (the example application's triage
  // form, pre-filled from the task): a required field left empty blocks it with a
  // message; filled in, it completes, it leaves, and the outcome panel shows success.
  await bob.getByTestId('view-mine').click();
  await bob.locator(`[data-testid=task-row][data-task-id="${shared}"]`).click();
  const form = bob.getByTestId('form');
  await form.getByLabel('Incident').waitFor({ timeout: 10000 });
  if (!(await form.getByLabel('Incident').inputValue())) throw new Error('the form is not pre-filled from the task');
  await bob.getByTestId('action-complete').click();
  await bob.getByTestId('message').filter({ hasText: 'complete: Who resolves it' }).waitFor({ timeout: 5000 });
  await form.getByText(/required/i).first().waitFor({ timeout: 5000 });
  await bob.screenshot({ path: join(shots, 'form-required.png') });
  await accessible(bob, 'the task detail with its form');
  if (!(await bob.locator(`[data-testid=task-row][data-task-id="${shared}"]`).count())) throw new Error('an incomplete form must not complete the task');
  step('a required field left empty blocks the completion with a message');
  await form.getByLabel('carol').check();
  await form.getByLabel('Note for the resolver').fill('printer on floor 3');
  await bob.getByTestId('action-complete').click();
  await bob.locator(`[data-testid=task-row][data-task-id="${shared}"]`).waitFor({ state: 'detached', timeout: 15000 });
  step(`bob completed ${shared} through its form; it left his list`);
  await bob.locator(`[data-testid=outcome-row][data-task-id="${shared}"][data-accepted=true]`).first().waitFor({ timeout: 10000 });
  const commands = await bob.locator(`[data-testid=outcome-row][data-task-id="${shared}"]`).allTextContents();
  if (!commands.some((c) => c.includes('completeInteraction') && c.includes('accepted'))) throw new Error(`no accepted completion in the outcome panel: ${commands}`);
  await bob.getByTestId('outcomes').screenshot({ path: join(shots, 'outcomes.png') });
  step('the outcome panel shows the accepted completion');

  // It is under Completed, with its timeline: claimed and completed by bob.
  await bob.getByTestId('page-completed').click();
  const completedRow = bob.locator(`[data-testid=completed-row][data-task-id="${shared}"]`);
  await completedRow.getByRole('button').click({ timeout: 10000 });
  const timeline = bob.getByTestId('completed-detail').getByTestId('timeline');
  await timeline.locator('[data-testid=timeline-entry][data-kind=completed]', { hasText: 'bob' }).waitFor({ timeout: 10000 });
  await timeline.locator('[data-testid=timeline-entry][data-kind=requested]', { hasText: 'claim' }).waitFor({ timeout: 10000 });
  await bob.screenshot({ path: join(shots, 'completed.png') });
  await accessible(bob, 'the completed page');
  await bob.getByTestId('page-inbox').click();
  step('the completed task is under Completed with its timeline');

  // The detail shows a task's correlated business data with its protocol.
  await alice.getByTestId('view-all').click();
  await alice.getByTestId('filter').fill('task.taskDefinitionKey = approve');
  await alice.getByTestId('apply').click();
  // The list still shows every task until the filtered one arrives: wait for it, or the
  // first row clicked may be a task with no business data.
  await alice.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid=task-row]')];
    return rows.length > 0 && rows.every((r) => r.textContent.includes('Approve: '));
  }, null, { timeout: 10000 });
  await alice.getByTestId('task-row').first().click();
  await alice.getByTestId('detail-entry').first().waitFor({ timeout: 10000 });
  await alice.screenshot({ path: join(shots, 'task-detail.png') });
  step('the task detail shows its request with the protocol');
  // Its process, drawn by bpmn-js, with the task's element marked.
  await alice.getByTestId('process-section').locator('summary').click();
  await alice.locator('[data-testid=diagram][data-shown=true][data-element-id=approve]').waitFor({ timeout: 15000 });
  await alice.locator('[data-testid=diagram] .djs-element.current-task[data-element-id=approve]').waitFor({ timeout: 5000 });
  await alice.screenshot({ path: join(shots, 'process-diagram.png') });
  step('the task detail draws its process with the task marked');
  await alice.getByTestId('page-data').click();
  await alice.getByTestId('data-page').locator('tbody tr').first().waitFor({ timeout: 10000 });
  await bob.getByTestId('page-processes').click();
  await bob.getByTestId('processes-page').getByText('Handle an incident').waitFor({ timeout: 10000 });
  step('business data and startable processes are listed');

  // bob starts an incident through its start form: a required field left empty blocks
  // it; filled in, the example engine starts it and its first task opens in his inbox.
  // alice is in another window meanwhile (her page reports no focus): what arrives for
  // her is counted in her tab's title until she looks again.
  await alice.getByTestId('page-inbox').click();
  await alice.getByTestId('filter').fill('');
  await alice.getByTestId('apply').click();
  await alice.evaluate(() => { document.hasFocus = () => false; });
  await bob.getByTestId('choose-handle-incident').click();
  const startForm = bob.getByTestId('start-panel').getByTestId('form');
  await startForm.getByLabel('What is wrong?').waitFor({ timeout: 10000 });
  await bob.getByTestId('start').click();
  await bob.getByTestId('start-message').filter({ hasText: 'What is wrong?' }).waitFor({ timeout: 5000 });
  await startForm.getByLabel('What is wrong?').fill('Projector in room 2 is dead');
  await startForm.getByLabel('2 — a team is blocked').check();
  await bob.screenshot({ path: join(shots, 'start-form.png') });
  await accessible(bob, 'the start page');
  await bob.getByTestId('start').click();
  await bob.getByTestId('detail').getByRole('heading', { name: 'Triage: Projector in room 2 is dead' }).waitFor({ timeout: 15000 });
  await bob.locator('[data-testid=task-row].selected', { hasText: 'Projector in room 2 is dead' }).waitFor({ timeout: 10000 });
  await bob.locator('[data-testid=request-row][data-state=performed]', { hasText: 'Handle an incident' }).first().waitFor({ timeout: 10000 });
  step('bob started an incident through its start form; its triage task opened in his inbox');
  await waitFor(async () => /^\(\d+\) Taskpool inbox$/.test(await alice.title()), 'alice\'s title to count the unseen triage task');
  await alice.evaluate(() => { document.hasFocus = () => true; window.dispatchEvent(new Event('focus')); });
  await waitFor(async () => (await alice.title()) === 'Taskpool inbox', 'alice\'s title without a count once she looked');
  step('a task that arrived while alice looked elsewhere was counted in her title until she looked');

  // German: the words change, dates and due dates follow; the choice is kept on reload.
  await bob.getByTestId('language').selectOption('de');
  await bob.getByTestId('page-inbox').filter({ hasText: 'Posteingang' }).waitFor({ timeout: 5000 });
  await bob.getByTestId('view-mine').filter({ hasText: 'Meine Aufgaben' }).waitFor({ timeout: 5000 });
  await bob.getByTestId('action-claim').filter({ hasText: 'Übernehmen' }).waitFor({ timeout: 5000 });
  await bob.screenshot({ path: join(shots, 'inbox-de.png') });
  await bob.reload();
  await bob.getByTestId('login-bob').click();
  await bob.getByTestId('page-completed').filter({ hasText: 'Erledigt' }).waitFor({ timeout: 10000 });
  await accessible(bob, 'the inbox in German');
  await bob.getByTestId('language').selectOption('en');
  step('switched to German: the inbox speaks German, also after a reload');

  // About says which inbox this is.
  await bob.getByTestId('about').click();
  await bob.getByTestId('about-version').filter({ hasText: /Version \d+\.\d+\.\d+/ }).waitFor({ timeout: 5000 });
  await bob.getByTestId('about-close').click();
  step('About names the version');

  // Down to 1024 px wide, nothing needs sideways scrolling.
  await bob.setViewportSize({ width: 1024, height: 768 });
  await bob.getByTestId('page-inbox').click();
  await bob.getByTestId('task-row').first().click();
  await bob.screenshot({ path: join(shots, 'inbox-1024.png') });
  const wide = await bob.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 1024) throw new Error(`at 1024 px the page is ${wide} px wide`);
  await bob.setViewportSize({ width: 1400, height: 900 });
  step('at 1024 px the inbox fits the window');

  // The same pages in the dark scheme.
  await alice.getByTestId('page-inbox').click();
  await alice.getByTestId('task-row').first().click();
  await alice.getByTestId('detail').getByRole('heading').first().waitFor({ timeout: 10000 });
  for (const [page, name] of [[bob, 'inbox'], [alice, 'detail']]) {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(shots, `${name}-dark.png`) });
    await accessible(page, `the ${name} in the dark scheme`);
    await page.emulateMedia({ colorScheme: 'light' });
  }
  // Every other page, dark.
  await bob.emulateMedia({ colorScheme: 'dark' });
  for (const [testId, name] of [['page-completed', 'completed'], ['page-processes', 'start'], ['page-data', 'business-data']]) {
    await bob.getByTestId(testId).click();
    await bob.waitForTimeout(300);
    await bob.screenshot({ path: join(shots, `${name}-dark.png`) });
    await accessible(bob, `the ${name} page in the dark scheme`);
  }
  await bob.emulateMedia({ colorScheme: 'light' });
  await bob.getByTestId('page-inbox').click();
} catch (e) {
  failed = true;
  console.error('e2e failed:', e);
  for (const [user, page] of pages) {
    const path = join(tmpdir(), `taskpool-e2e-failed-${user}.png`);
    await page.screenshot({ path }).catch(() => {});
    console.error(`e2e: ${user}'s page when it failed: ${path}`);
  }
} finally {
  await browser.close();
  server.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
