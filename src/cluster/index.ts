// Cluster mode: several instances sharing the servers through NATS JetStream (README.md,
// "Running several instances"). The hub sees it as its ServerOwnership (hub/ownership.ts).
export { ClusterOwnership, type ClusterOwnershipOptions } from './coordinator.js';
export { FleetFeed, type FleetFeedParts } from './fleet-feed.js';
export { natsOptions } from './nats-connection.js';
