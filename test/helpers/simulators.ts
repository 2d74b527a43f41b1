// Simulators and probe clients a test file opens, closed together when the file ends.
import { after } from 'node:test';
import { startSimulator, type SimulatedServer, type SimulatorOptions } from '../../src/simulator/index.js';
import { Probe } from '../../src/simulator/probe-client.js';

const servers: SimulatedServer[] = [];
const probes: Probe[] = [];

after(async () => {
  await Promise.all(probes.map((p) => p.close()));
  await Promise.all(servers.map((s) => s.close()));
});

export async function simulator(options: SimulatorOptions = {}): Promise<SimulatedServer> {
  const server = await startSimulator(options);
  servers.push(server);
  return server;
}

/** A probe on `server`; with `autoAck` false the test acks (or does not) itself. */
export async function probe(server: SimulatedServer, autoAck = true): Promise<Probe> {
  const p = await Probe.open(server);
  p.autoAck = autoAck;
  probes.push(p);
  return p;
}
