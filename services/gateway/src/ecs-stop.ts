/**
 * Early drain on ECS. When ECS stops a task behind a load balancer it first deregisters the
 * target and waits out the deregistration delay, and only then sends SIGTERM; when that delay
 * ends the ALB cuts every connection still open. A gateway that waited for SIGTERM would have no
 * connections left to close gently. The task metadata endpoint shows the stop as soon as it is
 * decided (`DesiredStatus: STOPPED`), so the gateway polls it and starts its jittered drain then,
 * within the deregistration delay.
 */

export interface EcsStopWatcherOptions {
  /** `ECS_CONTAINER_METADATA_URI_V4`, set by the ECS agent in every container. */
  readonly metadataUri: string;
  /** Poll interval (ms). Default 2 000. */
  readonly intervalMs?: number;
  /** Called once, when the task's desired status becomes STOPPED. */
  readonly onStopping: () => void;
  /** Called for failed polls (the endpoint may be briefly unavailable); polling goes on. */
  readonly onError?: (err: unknown) => void;
}

/** Starts polling; returns a function that stops it. */
export function watchEcsStop(opts: EcsStopWatcherOptions): () => void {
  let fired = false;
  let busy = false;
  const poll = async (): Promise<void> => {
    if (fired || busy) return;
    busy = true;
    try {
      const res = await fetch(`${opts.metadataUri}/task`, { signal: AbortSignal.timeout(1_500) });
      if (!res.ok) throw new Error(`task metadata answered ${res.status}`);
      const task = (await res.json()) as { DesiredStatus?: unknown };
      if (task.DesiredStatus === 'STOPPED' && !fired) {
        fired = true;
        stop();
        opts.onStopping();
      }
    } catch (err) {
      opts.onError?.(err);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(
    () => void poll().catch((err: unknown) => opts.onError?.(err)),
    opts.intervalMs ?? 2_000,
  );
  timer.unref();
  const stop = () => clearInterval(timer);
  return stop;
}
