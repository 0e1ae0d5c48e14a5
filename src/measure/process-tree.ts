/**
 * A worker and the processes it started (the torch engine's Python child), read from Linux's
 * /proc: their resident memory, and killing them all. Where /proc is missing (macOS), a worker's
 * tree is just the worker, and its memory unknown.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The worker and every descendant, parents before children. */
export function processTree(rootPid: number): number[] {
  const pids = [rootPid];
  for (let i = 0; i < pids.length; i++) pids.push(...childPids(pids[i]!));
  return pids;
}

/**
 * A process's children, from every thread's `children` file: a child belongs to the thread that
 * forked it, and Node spawns from its main thread but native add-ons may fork from others.
 */
function childPids(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const tid of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) if (c.trim()) children.push(Number(c));
    } catch {
      // The thread ended while we read.
    }
  }
  return children;
}

/** A `/proc/<pid>/status` field in kB (VmRSS: resident now; VmHWM: the most it was), as bytes. */
function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resident memory of a tree now, bytes: the sum over its processes (pages they share, such as
 * libraries, count once per process, which errs on the high side). Undefined without /proc.
 */
export function treeRssBytes(pids: readonly number[]): number | undefined {
  let total: number | undefined;
  for (const pid of pids) {
    const rss = statusBytes(pid, 'VmRSS');
    if (rss !== undefined) total = (total ?? 0) + rss;
  }
  return total;
}

/** The most a process was ever resident, bytes (the kernel's high-water mark, exact between samples). */
export function peakRssBytes(pid: number): number | undefined {
  return statusBytes(pid, 'VmHWM');
}

/**
 * SIGKILLs a worker and its descendants. The tree is read before anything dies: a child whose
 * parent is killed first is re-parented to init and could no longer be found through it.
 */
export function killTree(rootPid: number): void {
  killPids(processTree(rootPid).reverse());
}

export function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
