// Allocation sampling inside a child process, through the inspector's sampling heap profiler
// with collected objects included: bytes allocated over a stretch of time, and by which
// function. The inspector session is opened only when asked for, so other runs carry none.
import inspector from 'node:inspector';

interface SamplingHeapProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingHeapProfileNode[];
}

export interface AllocationReport {
  total: number;
  top: { fn: string; where: string; bytes: number }[];
}

let session: inspector.Session | undefined;

function post<T>(method: string, params: object = {}): Promise<T> {
  if (!session) {
    session = new inspector.Session();
    session.connect();
  }
  const connected = session;
  return new Promise((resolve, reject) => connected.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))));
}

/**
 * Starts sampling. By default every allocation counts (allocation per message); with
 * `retainedOnly`, only objects still alive when sampling stops (what holds the memory).
 */
export async function startAllocationSampling(options: { retainedOnly?: boolean } = {}): Promise<void> {
  const collected = options.retainedOnly !== true;
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: collected, includeObjectsCollectedByMinorGC: collected });
}

export async function stopAllocationSampling(top = 25): Promise<AllocationReport> {
  const { profile } = await post<{ profile: { head: SamplingHeapProfileNode } }>('HeapProfiler.stopSampling');
  const bySite = new Map<string, { fn: string; where: string; bytes: number }>();
  let total = 0;
  const walk = (node: SamplingHeapProfileNode) => {
    total += node.selfSize;
    if (node.selfSize > 0) {
      const { functionName, url, lineNumber } = node.callFrame;
      const where = url ? `${url.replace(/^.*\/(dist|node_modules|bench)\//, '$1/')}:${lineNumber + 1}` : '';
      const key = `${functionName}@${where}`;
      const site = bySite.get(key) ?? { fn: functionName || '(anonymous)', where, bytes: 0 };
      site.bytes += node.selfSize;
      bySite.set(key, site);
    }
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  return { total, top: [...bySite.values()].sort((a, b) => b.bytes - a.bytes).slice(0, top) };
}
