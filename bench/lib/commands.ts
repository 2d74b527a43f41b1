// The child side of the IPC channel: named commands, each answered once; an exit when the
// orchestrator goes away, so no child outlives a run.

// Arguments arrive as structured clones from the orchestrator; each handler states its shape.
type Handler = (args: any) => unknown;

export function serveCommands(handlers: Record<string, Handler>): void {
  process.on('message', (message: { id: number; cmd: string; args: unknown }) => {
    const handler = handlers[message.cmd];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command "${message.cmd}"`);
        return handler(message.args);
      })
      .then(
        (result) => process.send?.({ type: 'reply', id: message.id, ok: true, result }),
        (error: unknown) =>
          process.send?.({ type: 'reply', id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready' });
}

export function emit(name: string, data?: unknown): void {
  process.send?.({ type: 'event', name, data });
}
