// The CDR receiver's own thread (receiver-thread.ts starts it): the HTTP(S) listener and the
// intake run here, so that reading POSTs, writing and syncing bodies and answering the CMSs use a
// core of their own, beside the thread that turns records into events. Each body, once on disk,
// goes to the main thread; the main thread says when it is done with it (or that it must stay for
// the next start), and the intake lets it go then, as it does in one thread.
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { CdrIntake, KeepForNextStart, type IntakeBody } from './intake.js';
import { Outbox } from './outbox.js';
import { startCdrReceiver, type CdrReceiverOptions } from './receiver.js';
import type { ToMain, ToWorker, WorkerSettings } from './receiver-messages.js';

const port = parentPort!;
const settings = workerData as WorkerSettings;
const send = (message: ToMain): void => port.postMessage(message);

// Log lines go to the main thread, which writes them with its own logger (levels, secrets masked).
const logger = pino({ level: 'trace', base: undefined, timestamp: false }, { write: (line: string) => send({ t: 'log', line }) });

let known = new Set<string>();
let followed = new Set<string>();
const waiting = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
/** Answers since the last report, by `server\tstatus`. */
let answers = new Map<string, number>();
const ready = new Outbox<IntakeBody>((bodies) => send({ t: 'bodies', bodies }));

const intake = await CdrIntake.open({
  dir: settings.intakeDir,
  logger,
  inPlace: true,
  process: (body: IntakeBody) =>
    new Promise<void>((resolve, reject) => {
      waiting.set(body.id, { resolve, reject });
      ready.add(body);
    }),
});

const receiverOptions: CdrReceiverOptions = {
  ...settings.receiver,
  knows: (server) => known.has(server),
  accepts: (server) => followed.has(server),
  store: (server, body, truncated) => intake.store(server, body, truncated),
  logger,
  onAnswer: (server, status) => {
    const key = `${server ?? ''}\t${status}`;
    answers.set(key, (answers.get(key) ?? 0) + 1);
    if (status === 200 && settings.failAfterAnswers !== undefined && --settings.failAfterAnswers === 0) {
      setImmediate(() => {
        throw new Error('the CDR receiver\'s thread fails on purpose (CMS_EVENTS_TEST_CDR_THREAD_FAIL_AFTER)');
      });
    }
  },
};

let receiver: Awaited<ReturnType<typeof startCdrReceiver>>;
try {
  receiver = await startCdrReceiver(receiverOptions);
} catch (error) {
  await intake.close();
  send({ t: 'failed', message: (error as Error).message, code: (error as NodeJS.ErrnoException).code ?? null });
  port.close();
  throw new Error('not listening');
}
send({ t: 'listening', url: receiver.url });

const report = (): void => {
  send({ t: 'stats', answers: [...answers].map(([key, count]) => [...key.split('\t'), count] as [string, string, number]), backlog: intake.backlog });
  answers = new Map();
};
const reporter = setInterval(report, 1_000);

port.on('message', (message: ToWorker) => {
  switch (message.t) {
    case 'servers':
      known = new Set(message.known);
      followed = new Set(message.followed);
      return;
    case 'process':
      intake.start();
      return;
    case 'report':
      report();
      return;
    case 'done':
      for (const { id, keep } of message.bodies) {
        const entry = waiting.get(id);
        waiting.delete(id);
        if (keep) entry?.reject(new KeepForNextStart());
        else entry?.resolve();
      }
      return;
    case 'close':
      void (async () => {
        clearInterval(reporter);
        await receiver.close();
        // The main thread goes on finishing what it has (up to drainMs); what it has not finished
        // then stays in the intake for the next start.
        const closing = intake.close(message.drainMs);
        setTimeout(() => {
          for (const entry of waiting.values()) entry.reject(new KeepForNextStart());
          waiting.clear();
        }, message.drainMs).unref();
        await closing;
        report();
        send({ t: 'closed' });
        port.close();
      })();
      return;
  }
});
