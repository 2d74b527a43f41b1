// The dashboard in headless Chromium, served by the real daemon (bin/cms-events run) following
// simulated servers: snapshot, live joins and leaves, updates, filters, call history, a server
// going down and coming back, the daemon restarting under the page, call control from the page
// (and no buttons on a daemon without it), a meeting spread over two bridges shown as one card,
// and a phone-sized screen.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { startSimulator, type SimulatedServer } from '../src/simulator/index.js';
import { freePort, serverEntry, startDaemon, tempDir, writeConfig, type Daemon } from './helpers/daemon.js';
import { requirePrograms } from './helpers/requirements.js';
import { waitFor } from './helpers/wait.js';

const needs = requirePrograms('chromium');
const BUILT = new URL('../dist/dashboard/index.html', import.meta.url);
/** The README's picture is refreshed only on request (UPDATE_SCREENSHOT=1 npm test); otherwise it goes to a temp file. */
const SCREENSHOT = process.env.UPDATE_SCREENSHOT === '1' ? fileURLToPath(new URL('../docs/dashboard.png', import.meta.url)) : join(tmpdir(), `cms-events-dashboard-${process.pid}.png`);
/** The issue asks for updates within a second; the margin covers a loaded CI machine. */
const LIVE_MS = 5_000;
/** The daemon's call-control token: the page asks for it on the first action. */
const TOKEN = 'dashboard-control-token-0123456789';

describe('dashboard', { skip: needs.skip }, () => {
  let east: SimulatedServer;
  let west: SimulatedServer;
  let lab: SimulatedServer;
  let daemon: Daemon;
  let config: string;
  let port: number;
  let browser: Browser;
  let page: Page;
  let board: string;
  let mallory: string;
  const consoleErrors: string[] = [];
  /** Set while the daemon is deliberately down: the browser then logs refused connections. */
  let daemonDown = false;
  /** Set while a wrong token is tried on purpose: the browser then logs the 401. */
  let refusalExpected = false;

  const server = (name: string) => page.locator(`[data-testid=server][data-server="${name}"]`);
  const call = (name: string) => page.locator(`[data-testid=call][data-call-name="${name}"]`);
  const participant = (scope: Locator, name: string) =>
    scope.locator(`[data-testid=participant][data-participant-name="${name}"]`);
  const meetingCard = (name: string) => page.getByTestId('meetings').locator(`[data-testid=meeting][data-meeting-name="${name}"]`);

  /**
   * A meeting spread over east and west as a CMS cluster does it: a call on each, one
   * callCorrelator; Hana listed by both bridges (one cluster-wide id), Ivan by west only.
   */
  function spreadMeeting(name: string) {
    const correlator = randomUUID();
    const onEast = east.world.createCall({ name, callCorrelator: correlator, distributedInstances: 1 });
    const onWest = west.world.createCall({ name, callCorrelator: correlator, distributedInstances: 1 });
    const hana = { id: `hana-${correlator}`, name: 'Hana Both', uri: 'hana@example.com', state: 'connected', direction: 'incoming' };
    east.world.addParticipant(onEast, hana);
    west.world.addParticipant(onWest, hana);
    west.world.addParticipant(onWest, { id: `ivan-${correlator}`, name: 'Ivan West', uri: 'ivan@corp.example', state: 'connected', direction: 'incoming' });
    return {
      correlator,
      onEast,
      onWest,
      hanaId: hana.id,
      /** Ends what is left of it. */
      end(): void {
        for (const [sim, id] of [[east, onEast], [west, onWest]] as const) {
          if (sim.world.listCalls().some((c) => c.id === id)) sim.world.endCall(id);
        }
      },
    };
  }

  /** Waits until the page shows Hana hosted where the daemon says (it asks the bridges' REST API); returns that bridge. */
  async function hostShown(correlator: string, participantId: string, row: Locator): Promise<string> {
    const url = `http://127.0.0.1:${port}/api/meetings/${encodeURIComponent(correlator)}`;
    let host: string | undefined;
    await waitFor(async () => {
      const body = (await (await fetch(url)).json()) as { participants?: { id: string; server: string }[] };
      host = body.participants?.find((p) => p.id === participantId)?.server;
      return host !== undefined && (await row.getByTestId('participant-server').textContent()) === host;
    }, 'the host the daemon names', LIVE_MS);
    assert.ok(host === 'cms-east' || host === 'cms-west', `host: ${host}`);
    return host;
  }

  /** Text that follows the daemon's state may take a moment: wait for it rather than sample it. */
  async function hasText(locator: Locator, expected: string): Promise<void> {
    await waitFor(async () => (await locator.textContent()) === expected, `"${expected}"`, LIVE_MS).catch(async (error) => {
      assert.equal(await locator.textContent(), expected, String(error));
    });
  }

  async function waitForApi(): Promise<void> {
    await waitFor(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
      } catch {
        return false;
      }
    }, 'the daemon HTTP API');
  }

  before(async () => {
    assert.ok(existsSync(BUILT), 'dist/dashboard/index.html is missing: run "npm run build" first');
    [east, west, lab] = await Promise.all([
      startSimulator({ name: 'east', username: 'api', password: 'east-Secret-1' }),
      startSimulator({ name: 'west', username: 'api', password: 'west-Secret-2' }),
      startSimulator({ name: 'lab', username: 'api', password: 'lab-Secret-3' }),
    ]);
    board = east.world.createCall({ name: 'Board meeting', callType: 'coSpace', recording: 'active', lockState: 'locked' });
    east.world.addParticipant(board, { name: 'Alice Martin', uri: 'alice@example.com', state: 'connected', direction: 'incoming', activeSpeaker: true });
    east.world.addParticipant(board, { name: 'Bob Stone', uri: 'sip:bob@example.com', state: 'connected', direction: 'outgoing', audioMuted: true, presenter: true });
    mallory = east.world.addParticipant(board, { name: '<img src=x onerror="window.__xss=1">', uri: 'mallory@example.com', state: 'connected', direction: 'incoming' });
    const standup = east.world.createCall({ name: 'Standup', callType: 'adHoc', streaming: 'active' });
    east.world.addParticipant(standup, { name: 'Ana Silva', uri: 'ana@example.com', state: 'connected', direction: 'incoming', videoMuted: true });
    const review = west.world.createCall({ name: 'Design review', callType: 'coSpace' });
    west.world.addParticipant(review, { name: 'Carol King', uri: 'carol@corp.example', state: 'connected', direction: 'incoming' });
    west.world.addParticipant(review, { name: '', uri: '5551234@corp.example', state: 'ringing', direction: 'outgoing' });

    port = await freePort();
    config = writeConfig(tempDir(), {
      servers: [
        serverEntry('cms-east', east),
        serverEntry('cms-west', west),
        serverEntry('cms-lab', lab, { password: 'not-the-password' }),
      ],
      http: { host: '127.0.0.1', port, controlToken: TOKEN },
      health: { intervalSeconds: 1 },
    });
    daemon = startDaemon(['run', '--config', config]);
    await waitForApi();

    browser = await chromium.launch({
      executablePath: needs.path('chromium'),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(LIVE_MS);
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      if (daemonDown && /ERR_CONNECTION_REFUSED|Failed to load resource/.test(message.text())) return;
      if (refusalExpected && /status of 401/.test(message.text())) return;
      consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
    await page.goto(`http://127.0.0.1:${port}/`);
  });

  after(async () => {
    await browser?.close();
    await daemon?.stop();
    await Promise.all([east?.close(), west?.close(), lab?.close()]);
    if (process.env.UPDATE_SCREENSHOT !== '1') rmSync(SCREENSHOT, { force: true });
  });

  it('shows every server, its calls and their rosters from the snapshot', async () => {
    await page.locator('[data-testid=connection][data-state=live]').waitFor({ timeout: 15_000 });
    for (const name of ['cms-east', 'cms-west', 'cms-lab']) await server(name).waitFor();
    await waitFor(async () => (await server('cms-east').getAttribute('data-state')) === 'live', 'cms-east live', 15_000);
    await waitFor(async () => (await server('cms-west').getAttribute('data-state')) === 'live', 'cms-west live', 15_000);
    assert.equal(await server('cms-east').getByTestId('server-state').textContent(), 'Live');

    const boardCall = server('cms-east').locator(call('Board meeting'));
    await participant(boardCall, 'Alice Martin').waitFor({ timeout: 15_000 });
    await participant(boardCall, 'Bob Stone').waitFor();
    await participant(server('cms-east').locator(call('Standup')), 'Ana Silva').waitFor();
    await participant(server('cms-west').locator(call('Design review')), 'Carol King').waitFor();

    assert.equal(await boardCall.getByTestId('call-type').textContent(), 'coSpace');
    await hasText(boardCall.getByTestId('participant-count'), '3 participants');
    assert.equal(await boardCall.getByTestId('call-recording').count(), 1);
    assert.equal(await boardCall.getByTestId('call-locked').count(), 1);
    assert.equal(await call('Standup').getByTestId('call-streaming').count(), 1);
    const bob = participant(boardCall, 'Bob Stone');
    assert.equal(await bob.getByTestId('participant-uri').textContent(), 'sip:bob@example.com');
    assert.equal(await bob.getByTestId('participant-state').textContent(), 'connected');
    assert.equal(await bob.getAttribute('data-direction'), 'outgoing');
    assert.equal(await bob.getByTestId('audio-muted').count(), 1);
    assert.equal(await bob.getByTestId('presenter').count(), 1);
    assert.equal(await participant(boardCall, 'Alice Martin').getByTestId('active-speaker').count(), 1);
    assert.equal(await participant(call('Standup'), 'Ana Silva').getByTestId('video-muted').count(), 1);
  });

  it('shows names from the server as text, never as markup', async () => {
    const mallory$ = page.locator('[data-testid=participant]').filter({ hasText: 'mallory@example.com' });
    assert.equal(await mallory$.getByTestId('participant-name').textContent(), '<img src=x onerror="window.__xss=1">');
    assert.equal(await page.locator('[data-testid=roster] img').count(), 0);
    assert.equal(await page.evaluate('window.__xss'), undefined);
    east.world.removeParticipant(board, mallory);
    await mallory$.waitFor({ state: 'detached' });
  });

  it('explains in words why a server is not live', async () => {
    const error = server('cms-lab').getByTestId('server-error');
    await error.waitFor({ timeout: 15_000 });
    assert.match((await error.textContent()) ?? '', /Bad credentials/);
    assert.notEqual(await server('cms-lab').getAttribute('data-state'), 'live');
  });

  it('adds, updates and removes a participant as it happens, without a reload', async (t) => {
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));
    const boardCall = call('Board meeting');

    let started = Date.now();
    const dave = east.world.addParticipant(board, { name: 'Dave Joiner', uri: 'dave@example.com', state: 'connected', direction: 'incoming' });
    await participant(boardCall, 'Dave Joiner').waitFor();
    const joinMs = Date.now() - started;
    await hasText(boardCall.getByTestId('participant-count'), '3 participants');

    east.world.updateParticipant(board, dave, { audioMuted: true });
    await participant(boardCall, 'Dave Joiner').getByTestId('audio-muted').waitFor();

    started = Date.now();
    east.world.removeParticipant(board, dave, 'hungUp');
    await participant(boardCall, 'Dave Joiner').waitFor({ state: 'detached' });
    const leaveMs = Date.now() - started;
    await hasText(boardCall.getByTestId('participant-count'), '2 participants');
    assert.deepEqual(navigations, [], 'the page was not reloaded');
    t.diagnostic(`join shown after ${joinMs} ms, leave after ${leaveMs} ms`);
  });

  it('shows a new call and removes an ended one', async () => {
    const lunch = west.world.createCall({ name: 'Lunch & learn', callType: 'coSpace' });
    west.world.addParticipant(lunch, { name: 'Erin Park', uri: 'erin@corp.example', state: 'connected', direction: 'incoming' });
    await participant(server('cms-west').locator(call('Lunch & learn')), 'Erin Park').waitFor();
    west.world.endCall(lunch, 'allLeft');
    await call('Lunch & learn').waitFor({ state: 'detached' });
  });

  it('filters by server and searches participants by name or uri', async () => {
    await page.getByTestId('server-filter').selectOption('cms-west');
    await server('cms-east').waitFor({ state: 'detached' });
    assert.equal(await server('cms-west').count(), 1);
    await page.getByTestId('server-filter').selectOption('');
    await server('cms-east').waitFor();

    await page.getByTestId('search').fill('CORP.EXAMPLE');
    await call('Board meeting').waitFor({ state: 'detached' });
    await participant(call('Design review'), 'Carol King').waitFor();
    await page.getByTestId('search').fill('alice');
    await participant(call('Board meeting'), 'Alice Martin').waitFor();
    assert.equal(await participant(call('Board meeting'), 'Bob Stone').count(), 0);
    assert.equal(await call('Design review').count(), 0);
    assert.match(page.url(), /q=alice/);
    await page.getByTestId('search').fill('');
    await participant(call('Board meeting'), 'Bob Stone').waitFor();
  });

  it('shows the latest events of a selected call', async () => {
    await call('Board meeting').getByTestId('call-open').click();
    const history = page.getByTestId('call-history');
    await history.waitFor();
    assert.equal(await page.getByTestId('history-title').textContent(), 'Board meeting');
    // Dave's join, mute and leave happened while the page was open.
    const types = await history.getByTestId('history-event').evaluateAll((items) =>
      items.map((item) => item.getAttribute('data-type')),
    );
    const left = types.indexOf('participant.left');
    const muted = types.indexOf('participant.updated');
    const joined = types.indexOf('participant.joined');
    assert.ok(left >= 0 && muted >= 0 && joined >= 0, `history: ${types.join(', ')}`);
    assert.ok(left < muted && muted < joined, `newest first: ${types.join(', ')}`);
    const text = (await history.textContent()) ?? '';
    assert.match(text, /Dave Joiner/);
    assert.match(text, /audio muted → yes/);

    // A new event of the selected call appears in its history at once.
    east.world.updateCall(board, { recording: 'inactive' });
    await history.locator('[data-testid=history-event][data-type="call.updated"]').first().waitFor();
    await call('Board meeting').getByTestId('call-recording').waitFor({ state: 'detached' });

    await page.getByTestId('history-close').click();
    await history.waitFor({ state: 'hidden' });
  });

  it('shows a meeting spread over two bridges as one card above the servers, its people once with their bridge', async () => {
    const spread = spreadMeeting('All hands');
    const meeting = meetingCard('All hands');
    const hana = participant(meeting, 'Hana Both');
    const ivan = participant(meeting, 'Ivan West');
    try {
      await ivan.waitFor();
      await hana.waitFor();
      assert.deepEqual((await meeting.getByTestId('meeting-server').allTextContents()).sort(), ['cms-east', 'cms-west']);
      await hasText(meeting.getByTestId('participant-count'), '2 participants');
      assert.equal(await hana.count(), 1, 'Hana once, though both bridges list her');
      assert.equal(await ivan.getByTestId('participant-server').textContent(), 'cms-west');
      await hostShown(spread.correlator, spread.hanaId, hana);

      // The section comes before the servers; its calls are not also in their server cards, which still count them.
      const [section, servers] = await Promise.all([page.getByTestId('meetings').boundingBox(), page.getByTestId('servers').boundingBox()]);
      assert.ok(section && servers && section.y < servers.y, 'the meetings are above the servers');
      assert.equal(await page.getByTestId('servers').locator(call('All hands')).count(), 0);
      for (const [name, sim] of [['cms-east', east], ['cms-west', west]] as const) {
        await hasText(server(name).getByTestId('server-meeting-note'), '1 call is part of a meeting across bridges, shown above.');
        await hasText(server(name).getByTestId('server-call-count'), String(sim.world.listCalls().length));
      }
      // Calls on one bridge stay in their server cards as before.
      await participant(server('cms-east').locator(call('Standup')), 'Ana Silva').waitFor();
      await participant(server('cms-west').locator(call('Design review')), 'Carol King').waitFor();

      // The search works on a meeting's people as on a call's.
      await page.getByTestId('search').fill('ivan');
      await hana.waitFor({ state: 'detached' });
      await ivan.waitFor();
      await page.getByTestId('search').fill('nobody by that name');
      await meeting.waitFor({ state: 'detached' });
      await page.getByTestId('search').fill('');
      await hana.waitFor();

      // Selecting the meeting opens its first call's history.
      await meeting.getByTestId('meeting-open').click();
      await hasText(page.getByTestId('history-title'), 'All hands');
      assert.match((await meeting.getAttribute('class')) ?? '', /call--selected/);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      assert.ok(readFileSync(SCREENSHOT).subarray(1, 4).toString() === 'PNG', 'a PNG screenshot was written');
      await page.getByTestId('history-close').click();

      // On a phone the meeting card fits too.
      await page.setViewportSize({ width: 390, height: 844 });
      try {
        await hana.waitFor();
        const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
        assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
      } finally {
        await page.setViewportSize({ width: 1280, height: 900 });
      }

      // East's part ends: a meeting on one bridge is a plain call, back in its server's card.
      east.world.endCall(spread.onEast);
      await meeting.waitFor({ state: 'detached' });
      const rest = server('cms-west').locator(call('All hands'));
      await participant(rest, 'Ivan West').waitFor();
      await participant(rest, 'Hana Both').waitFor();
      await server('cms-west').getByTestId('server-meeting-note').waitFor({ state: 'hidden' });
      await server('cms-east').getByTestId('server-meeting-note').waitFor({ state: 'hidden' });
      assert.equal(await page.getByTestId('meetings').isVisible(), false, 'no spread meeting: no section');

      // The last part ends: nothing of it is left.
      west.world.endCall(spread.onWest);
      await call('All hands').waitFor({ state: 'detached' });
    } finally {
      spread.end();
    }
  });

  it('shows each CMS\'s version, active call legs and alarms, and an alarm going away', async () => {
    const health = server('cms-east').locator('[data-testid=server-health]');
    await waitFor(async () => /^CMS 3\.8\.1 · \d+ active call legs?/.test((await health.textContent()) ?? ''), 'the version and legs of cms-east', LIVE_MS);
    east.faults.raiseAlarm('cdrConnectionFailure', 'receiver unreachable');
    const badge = health.locator('[data-testid=server-alarm]');
    await hasText(badge, 'cdr connection failure');
    assert.match((await badge.getAttribute('title')) ?? '', /receiver unreachable/);
    east.faults.clearAlarm('cdrConnectionFailure');
    await waitFor(async () => (await badge.count()) === 0, 'the badge gone with the alarm', LIVE_MS);
  });

  it('shows a server going down, then coming back', async () => {
    west.faults.goDown();
    await waitFor(async () => (await server('cms-west').getAttribute('data-state')) !== 'live', 'cms-west shown as not live');
    assert.notEqual(await server('cms-west').getByTestId('server-state').textContent(), 'Live');
    assert.equal(await server('cms-west').getByTestId('server-connected').textContent(), 'not connected');
    west.faults.comeUp();
    await waitFor(async () => (await server('cms-west').getAttribute('data-state')) === 'live', 'cms-west live again', 60_000);
    await participant(call('Design review'), 'Carol King').waitFor();
  });

  it('reconnects by itself when the daemon restarts, and reloads the snapshot', async () => {
    daemonDown = true;
    await daemon.stop();
    await page.locator('[data-testid=connection][data-state=lost]').waitFor();
    // Changed while nobody was watching: only a snapshot reload can show it.
    const standup = east.world.listCalls().find((c) => c.name === 'Standup')!;
    east.world.addParticipant(standup.id, { name: 'Frank Late', uri: 'frank@example.com', state: 'connected', direction: 'incoming' });
    daemon = startDaemon(['run', '--config', config]);
    await waitForApi();
    await page.locator('[data-testid=connection][data-state=live]').waitFor({ timeout: 30_000 });
    daemonDown = false;
    await participant(call('Standup'), 'Frank Late').waitFor({ timeout: 15_000 });
    const gina = east.world.addParticipant(board, { name: 'Gina Fresh', uri: 'gina@example.com', state: 'connected', direction: 'incoming' });
    await participant(call('Board meeting'), 'Gina Fresh').waitFor();
    east.world.removeParticipant(board, gina);
    await participant(call('Board meeting'), 'Gina Fresh').waitFor({ state: 'detached' });
  });

  it('shows the calls kept from before a restart, marked as not yet confirmed, until the server confirms them', async () => {
    daemonDown = true;
    await daemon.stop();
    await page.locator('[data-testid=connection][data-state=lost]').waitFor();
    // cms-east cannot be reached when the daemon comes back: only its stored model can show its calls.
    east.faults.goDown();
    try {
      daemon = startDaemon(['run', '--config', config]);
      await waitForApi();
      await page.locator('[data-testid=connection][data-state=live]').waitFor({ timeout: 30_000 });
      daemonDown = false;
      await participant(call('Board meeting'), 'Alice Martin').waitFor({ timeout: 15_000 });
      await hasText(server('cms-east').getByTestId('server-note'), 'Kept from before the daemon restarted: not yet confirmed by the server.');
      assert.notEqual(await server('cms-east').getAttribute('data-state'), 'live');
    } finally {
      east.faults.comeUp();
    }
    await waitFor(async () => (await server('cms-east').getAttribute('data-state')) === 'live', 'cms-east live again', 60_000);
    await server('cms-east').getByTestId('server-note').waitFor({ state: 'hidden', timeout: 15_000 });
    await participant(call('Board meeting'), 'Alice Martin').waitFor();
  });

  it('controls calls from the page: asks for the token, shows the action in flight, mutes and locks', async () => {
    assert.deepEqual(await (await fetch(`http://127.0.0.1:${port}/api/control`)).json(), { enabled: true });
    await page.locator('#app[data-control=on]').waitFor();
    const standup = call('Standup');
    const ana = participant(standup, 'Ana Silva');
    await ana.getByTestId('control-drop').waitFor();
    assert.equal(await ana.getByTestId('audio-muted').count(), 0);
    // Records every button shown in flight (the page has no other hook; it is gone in a moment).
    await page.evaluate(`
      window.__busy = [];
      new MutationObserver((records) => {
        for (const record of records) {
          for (const node of record.addedNodes) {
            if (!(node instanceof HTMLElement)) continue;
            for (const button of node.querySelectorAll('button[aria-busy=true]')) window.__busy.push(button.textContent + '|' + button.disabled);
          }
        }
      }).observe(document.body, { childList: true, subtree: true });
    `);

    // A wrong token is refused, said so, and forgotten.
    refusalExpected = true;
    page.once('dialog', (dialog) => void dialog.accept('not-the-token-of-this-daemon'));
    await ana.getByTestId('control-mute').click();
    await hasText(ana.getByTestId('control-error'), 'The token was refused and forgotten; the next action asks again.');
    assert.equal(await page.evaluate("sessionStorage.getItem('cms-events.controlToken')"), null);
    refusalExpected = false;

    // The right one is asked for again, kept for the tab, and the mute arrives through the feed.
    let prompts = 0;
    page.once('dialog', (dialog) => {
      prompts++;
      assert.equal(dialog.type(), 'prompt');
      void dialog.accept(TOKEN);
    });
    await ana.getByTestId('control-mute').click();
    await ana.getByTestId('audio-muted').waitFor();
    await ana.getByTestId('control-unmute').waitFor();
    assert.equal(await ana.getByTestId('control-error').count(), 0);
    assert.equal(prompts, 1);
    assert.equal(await page.evaluate("sessionStorage.getItem('cms-events.controlToken')"), TOKEN);

    // The token is kept: no more prompts.
    const unexpected = (dialog: { message(): string; dismiss(): Promise<void> }) => {
      prompts++;
      void dialog.dismiss();
    };
    page.on('dialog', unexpected);
    try {
      await standup.getByTestId('control-lock').click();
      await standup.getByTestId('call-locked').waitFor();
      await standup.getByTestId('control-unlock').waitFor();
      assert.equal(prompts, 1, 'the token was asked for once');
      assert.equal(east.world.listCalls().find((c) => c.name === 'Standup')?.lockState, 'locked');
      const anaNow = east.world.listCalls().find((c) => c.name === 'Standup')?.roster.find((p) => p.name === 'Ana Silva');
      assert.equal(anaNow?.audioMuted, true);
    } finally {
      page.off('dialog', unexpected);
    }
    const busy = await page.evaluate<string[]>('window.__busy');
    assert.ok(busy.includes('Muting…|true'), `in flight: ${busy.join(', ')}`);
    assert.ok(busy.includes('Locking…|true'), `in flight: ${busy.join(', ')}`);
  });

  it('shows no control buttons when the daemon has no control token', async () => {
    const otherPort = await freePort();
    const otherConfig = writeConfig(tempDir(), {
      servers: [serverEntry('cms-west', west)],
      http: { host: '127.0.0.1', port: otherPort },
    });
    const other = startDaemon(['run', '--config', otherConfig]);
    const otherPage = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    otherPage.setDefaultTimeout(LIVE_MS);
    try {
      await waitFor(async () => {
        try {
          return (await fetch(`http://127.0.0.1:${otherPort}/healthz`)).ok;
        } catch {
          return false;
        }
      }, 'the second daemon');
      assert.deepEqual(await (await fetch(`http://127.0.0.1:${otherPort}/api/control`)).json(), { enabled: false });
      await otherPage.goto(`http://127.0.0.1:${otherPort}/`);
      await otherPage.locator('#app[data-control=off]').waitFor();
      await otherPage.locator('[data-testid=participant][data-participant-name="Carol King"]').waitFor({ timeout: 15_000 });
      assert.equal(await otherPage.locator('[data-testid=controls]').count(), 0);
      assert.equal(await otherPage.locator('button.control').count(), 0);
    } finally {
      await otherPage.close();
      await other.stop();
    }
  });

  it("controls a spread meeting's people through the bridge and call hosting each", async () => {
    const spread = spreadMeeting('Town hall');
    const meeting = meetingCard('Town hall');
    const hana = participant(meeting, 'Hana Both');
    const ivan = participant(meeting, 'Ivan West');
    const listed = (sim: SimulatedServer, callId: string, id: string) =>
      sim.world.listCalls().find((c) => c.id === callId)?.roster.find((p) => p.id === id);
    try {
      await ivan.getByTestId('control-mute').waitFor();
      const host = await hostShown(spread.correlator, spread.hanaId, hana);
      // The token is kept from the control test: no prompt.
      await ivan.getByTestId('control-mute').click();
      await ivan.getByTestId('audio-muted').waitFor();
      assert.equal(listed(west, spread.onWest, `ivan-${spread.correlator}`)?.audioMuted, true);
      await hana.getByTestId('control-mute').click();
      await hana.getByTestId('audio-muted').waitFor();
      const [hostSim, hostCall] = host === 'cms-east' ? [east, spread.onEast] : [west, spread.onWest];
      assert.equal(listed(hostSim, hostCall, spread.hanaId)?.audioMuted, true, 'muted on the bridge hosting her');
      assert.equal(await meeting.getByTestId('control-error').count(), 0);
    } finally {
      spread.end();
    }
    await meeting.waitFor({ state: 'detached' });
    await call('Town hall').waitFor({ state: 'detached' });
  });

  it('fits a phone screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await participant(call('Board meeting'), 'Alice Martin').waitFor();
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    await call('Board meeting').getByTestId('call-open').click();
    await page.getByTestId('call-history').waitFor();
    await page.getByTestId('history-close').click();
  });

  it('logged no console errors', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
