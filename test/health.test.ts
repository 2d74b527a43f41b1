// Each CMS's own health from outside: the real daemon reads the simulated server's
// /system/status and /system/alarms every second (health.intervalSeconds: 1). /api/servers shows
// version, uptime, active legs and alarms; an alarm is raised and cleared once each, also across
// the daemon's restart (one cleared while it was down is cleared on the restart, one still there
// is not raised again); a REST API that fails leaves the events feed and the alarms alone.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { CmsEvent } from '../src/state/events.js';
import { freePort, getJson, serverEntry, startDaemon, tempDir, writeConfig, type Daemon } from './helpers/daemon.js';
import { simulator } from './helpers/simulators.js';
import { waitFor } from './helpers/wait.js';

const running: Daemon[] = [];
after(async () => {
  await Promise.all(running.map((d) => d.stop()));
});

interface ServerEntry {
  name: string;
  cms: { version: string | null; uptimeSeconds: number | null; callLegsActive: number | null; alarms: Array<{ type: string; since: string }>; checkedAt: string | null; lastError: string | null } | null;
}

const alarmEvents = (events: CmsEvent[]) =>
  events.filter((e) => e.type === 'server.alarm.raised' || e.type === 'server.alarm.cleared').map((e) => `${e.type} ${'alarm' in e ? e.alarm.type : ''}`);

describe('server health', () => {
  it('status and alarms in /api/servers; raised and cleared once each, also across a restart; a failing REST API disturbs nothing', async () => {
    const sim = await simulator({ name: 'health', softwareVersion: '3.9.2' });
    const call = sim.world.createCall({ name: 'Ops' });
    sim.world.addParticipant(call, { name: 'Ann', state: 'connected' });
    const dir = tempDir('cms-events-health-');
    const port = await freePort();
    const api = `http://127.0.0.1:${port}`;
    const config = writeConfig(dir, { servers: [serverEntry('cms-h', sim)], http: { host: '127.0.0.1', port }, health: { intervalSeconds: 1 }, stateDir: path.join(dir, 'state') });
    const health = async () => {
      try {
        return (await getJson<ServerEntry[]>(`${api}/api/servers`)).body[0]?.cms ?? undefined;
      } catch {
        return undefined;
      }
    };
    const first = startDaemon(['run', '--config', config]);
    running.push(first);
    const seen = await waitFor(async () => {
      const cms = await health();
      return cms?.checkedAt ? cms : undefined;
    }, 'the first health read', 15_000);
    assert.equal(seen.version, '3.9.2');
    assert.equal(seen.callLegsActive, 1);
    assert.ok((seen.uptimeSeconds ?? -1) >= 0);
    assert.deepEqual(seen.alarms, []);

    sim.faults.raiseAlarm('cdrConnectionFailure', 'receiver unreachable');
    await first.waitForEvent((e) => e.type === 'server.alarm.raised', 'the alarm raised', 10_000);
    const raised = first.events.find((e) => e.type === 'server.alarm.raised')!;
    assert.ok(raised.type === 'server.alarm.raised');
    assert.deepEqual([raised.server, raised.alarm.type, raised.alarm.failureReason], ['cms-h', 'cdrConnectionFailure', 'receiver unreachable']);
    await waitFor(async () => (await health())?.alarms.some((a) => a.type === 'cdrConnectionFailure') ?? false, 'the alarm in /api/servers', 10_000);
    const metrics = await (await fetch(`${api}/metrics`)).text();
    assert.match(metrics, /cms_events_cms_alarms\{server="cms-h",type="cdrConnectionFailure"\} 1/);
    assert.match(metrics, /cms_events_cms_call_legs_active\{server="cms-h"\} 1/);

    // A REST API that fails: the feed goes on, the alarm stays (a failed read is not "no alarms").
    sim.faults.restBusy(Number.MAX_SAFE_INTEGER);
    await waitFor(async () => (await health())?.lastError != null, 'the failure shown', 15_000);
    const during = sim.world.createCall({ name: 'During the REST outage' });
    await first.waitForEvent((e) => e.type === 'call.started' && e.callId === during, 'events still followed');
    assert.ok((await health())?.alarms.some((a) => a.type === 'cdrConnectionFailure'), 'the alarm is kept while its source cannot be read');
    sim.faults.restBusy(0);
    await waitFor(async () => (await health())?.lastError === null, 'the REST API read again', 15_000);
    assert.deepEqual(alarmEvents(first.events), ['server.alarm.raised cdrConnectionFailure'], 'raised once, nothing cleared by the outage');
    assert.equal((await first.stop()).code, 0);

    // While the daemon is down one alarm clears and another appears.
    sim.faults.clearAlarm('cdrConnectionFailure');
    sim.faults.raiseAlarm('callBridgeConnectionFailure');
    const second = startDaemon(['run', '--config', config]);
    running.push(second);
    await waitFor(() => alarmEvents(second.events).length >= 2, 'the restart to report what changed', 15_000);
    // A few more reads: nothing announced again.
    const checked = (await health())?.checkedAt;
    await waitFor(async () => {
      const now = await health();
      return now?.checkedAt !== checked && now?.checkedAt != null;
    }, 'another health read', 10_000);
    assert.deepEqual(alarmEvents(second.events).sort(), ['server.alarm.cleared cdrConnectionFailure', 'server.alarm.raised callBridgeConnectionFailure']);
    assert.equal((await second.stop()).code, 0);
  });
});
