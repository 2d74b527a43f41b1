// The call-control buttons: mute/unmute and drop on a participant, lock/unlock and end on a call.
// Drawn only when the daemon has control configured. A button in flight is disabled and says what
// it does ("Muting…"); a refusal is a short message beside the buttons. Success needs no word: the
// participant's or call's pills change when the feed reports the change.
import type { CallState, ParticipantState } from '../api.js';
import type { ControlAction, ControlClient, Target } from '../control.js';
import { h } from '../dom.js';

const LABELS: Record<ControlAction, [idle: string, busy: string, title: string]> = {
  mute: ['Mute', 'Muting…', 'Mute this participant’s microphone'],
  unmute: ['Unmute', 'Unmuting…', 'Unmute this participant’s microphone'],
  drop: ['Drop', 'Dropping…', 'Drop this participant from the call'],
  lock: ['Lock', 'Locking…', 'Lock the call: nobody new can join'],
  unlock: ['Unlock', 'Unlocking…', 'Unlock the call'],
  end: ['End', 'Ending…', 'End the call for everyone'],
};

/** Drop and end cannot be undone: they ask first. */
const CONFIRM: Partial<Record<ControlAction, (what: string) => string>> = {
  drop: (what) => `Drop ${what} from the call?`,
  end: (what) => `End ${what} for everyone?`,
};

function controls(client: ControlClient, target: Target, actions: ControlAction[], what: string): HTMLElement {
  const state = client.stateOf(target);
  const busy = state?.busy === true;
  const buttons = actions.map((action) => {
    const [idle, inFlight, title] = LABELS[action];
    const running = busy && state?.action === action;
    return h(
      'button',
      {
        class: `control control--${action}`,
        testid: `control-${action}`,
        title,
        data: { action },
        attrs: { type: 'button', disabled: busy, 'aria-busy': running ? 'true' : null },
        onClick: (event) => {
          event.stopPropagation();
          const question = CONFIRM[action]?.(what);
          if (question && !window.confirm(question)) return;
          void client.run(target, action);
        },
      },
      running ? inFlight : idle,
    );
  });
  const error =
    state && !state.busy
      ? h('span', { class: 'control__error', testid: 'control-error', attrs: { role: 'alert' } }, state.error)
      : null;
  return h('div', { class: 'controls', testid: 'controls' }, buttons, error);
}

export function participantControls(client: ControlClient, server: string, callId: string, participant: ParticipantState): HTMLElement {
  const target = { server, callId, participantId: participant.id };
  const actions: ControlAction[] = [participant.audioMuted ? 'unmute' : 'mute', 'drop'];
  return controls(client, target, actions, participant.name || participant.uri || 'this participant');
}

export function callControls(client: ControlClient, server: string, call: CallState): HTMLElement {
  const actions: ControlAction[] = [call.lockState === 'locked' ? 'unlock' : 'lock', 'end'];
  return controls(client, { server, callId: call.id }, actions, call.name ? `"${call.name}"` : 'this call');
}
