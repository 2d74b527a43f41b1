// The simulated Cisco Meeting Server: a fake CMS for tests, benchmarks, the demo and the CLI.
// It shares only wire types with the client (src/protocol), never its session or state logic.
export type { SimulatorSwitches } from './switches.js';
export { DEFAULT_SWITCHES, checkSwitches } from './switches.js';
export type {
  CallBridgeInfo,
  CallSnapshot,
  CdrStats,
  ConnectionFigures,
  Faults,
  RestRequestRecord,
  SimulatedCdr,
  SimulatedServer,
  SimulatorOptions,
  SimulatorStats,
  Violation,
  World,
} from './types.js';
export type { CallFields, ParticipantFields } from '../protocol/index.js';
export { WorldError, type WorldErrorCode } from './world.js';
export { startSimulator } from './server.js';
export { startTraffic, type TrafficOptions } from './traffic.js';
export { startCluster, type Cluster, type ClusterOptions } from './cluster.js';
export { formBridgeCluster, type BridgeCluster, type MeetingInstance, type MeetingSnapshot, type MeetingStart } from './bridge-cluster.js';
export { startMeetingTraffic, type MeetingTrafficOptions } from './meeting-traffic.js';
export { seededRandom } from './seeded-random.js';
export { startControlApi, CONTROL_API_ROUTES } from './control-api.js';
