// Offboard's closure lifecycle as an XState v5 machine: the same phases and
// commands (the README's state diagram), with the confirmation attempts and
// the plan's pending effects in the context. It decides transitions only:
// no precondition assessment, no audit chain, no idempotency keys, no JSON
// contract. That is the fairness caveat of the comparison, in XState's favour.
import { assign, createMachine } from 'xstate';

export const lifecycle = createMachine({
  id: 'closure',
  initial: 'idle',
  context: { attempts: 0, maxAttempts: 5, phrase: '', pending: [], closesAt: 0 },
  states: {
    idle: { on: { request: { target: 'awaiting_confirmation', actions: assign({ phrase: ({ event }) => event.phrase, attempts: 0 }) } } },
    cancelled: { on: { request: { target: 'awaiting_confirmation', actions: assign({ phrase: ({ event }) => event.phrase, attempts: 0 }) } } },
    awaiting_confirmation: {
      on: {
        request: { target: 'awaiting_confirmation' },
        confirm: [
          {
            guard: ({ context, event }) => event.value.trim().toLowerCase() === context.phrase.toLowerCase(),
            target: 'scheduled',
            actions: assign({ closesAt: ({ event }) => event.now + event.graceMs }),
          },
          { guard: ({ context }) => context.attempts + 1 < context.maxAttempts, actions: assign({ attempts: ({ context }) => context.attempts + 1 }) },
          { target: 'cancelled' },
        ],
        cancel: 'cancelled',
      },
    },
    scheduled: {
      on: {
        tick: [
          { guard: ({ context, event }) => event.now >= context.closesAt && event.blockers > 0, target: 'halted' },
          { guard: ({ context, event }) => event.now >= context.closesAt, target: 'executing', actions: assign({ pending: ({ event }) => event.plan }) },
        ],
        cancel: 'cancelled',
      },
    },
    halted: { on: { tick: { target: 'executing', actions: assign({ pending: ({ event }) => event.plan }) }, cancel: 'cancelled', abort: 'aborted' } },
    executing: {
      on: {
        report_outcome: [
          { guard: ({ event }) => event.outcome === 'permanent_failure', target: 'failed' },
          {
            guard: ({ context, event }) => event.outcome === 'succeeded' && context.pending.length === 1 && context.pending[0] === event.effect,
            target: 'closed',
            actions: assign({ pending: [] }),
          },
          { guard: ({ event }) => event.outcome === 'succeeded', actions: assign({ pending: ({ context, event }) => context.pending.filter((id) => id !== event.effect) }) },
        ],
      },
    },
    failed: { on: { retry: 'executing', abort: 'aborted' } },
    closed: { on: { report_outcome: 'purged' } },
    purged: { type: 'final' },
    aborted: { type: 'final' },
  },
});
