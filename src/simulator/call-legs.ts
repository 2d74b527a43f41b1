// The call legs of a simulated bridge. Every participant owns one leg whose id differs from the
// participant id, as on a real CMS (where a participant may own several). Kept in step with the
// world through its changes: a leg appears with its participant and goes when they leave or the
// call ends. A participant a cluster lists here but hosts on another bridge has a leg here too,
// so a client that changes a participant leg by leg meets this bridge's refusal, not a silent no-op.
import { randomUUID } from 'node:crypto';
import type { WorldChange } from './world.js';

export interface LegRecord {
  readonly id: string;
  readonly callId: string;
  readonly participantId: string;
}

export class CallLegs {
  private readonly legs = new Map<string, LegRecord>();
  /** participant id → call id and leg ids */
  private readonly owners = new Map<string, { callId: string; legIds: string[] }>();

  apply(changes: readonly WorldChange[]): void {
    for (const change of changes) {
      switch (change.kind) {
        case 'participantAdded':
          this.add(change.call.id, change.participant.id);
          break;
        case 'participantRemoved':
          this.remove(change.call.id, change.participant.id);
          break;
        case 'callRemoved':
          for (const participantId of change.call.roster.keys()) this.remove(change.call.id, participantId);
          break;
        default:
          break;
      }
    }
  }

  leg(legId: string): LegRecord | undefined {
    return this.legs.get(legId);
  }

  /** The call a participant is in, if they are known to be in one. */
  callOf(participantId: string): string | undefined {
    return this.owners.get(participantId)?.callId;
  }

  legsOf(participantId: string): LegRecord[] {
    const owner = this.owners.get(participantId);
    return owner ? owner.legIds.flatMap((id) => this.legs.get(id) ?? []) : [];
  }

  all(): LegRecord[] {
    return [...this.legs.values()];
  }

  private add(callId: string, participantId: string): void {
    let id = randomUUID();
    while (id === participantId) id = randomUUID();
    this.legs.set(id, { id, callId, participantId });
    const owner = this.owners.get(participantId);
    if (owner && owner.callId === callId) owner.legIds.push(id);
    else this.owners.set(participantId, { callId, legIds: [id] });
  }

  private remove(callId: string, participantId: string): void {
    const owner = this.owners.get(participantId);
    if (!owner || owner.callId !== callId) return;
    for (const id of owner.legIds) this.legs.delete(id);
    this.owners.delete(participantId);
  }
}
