/**
 * The lifecycle arithmetic on fixture files (a sysfs and procfs written into a temporary folder):
 * RAPL energy with its wrap-around, the CPU frequency from cpufreq or /proc/cpuinfo, CPU time from
 * /proc/<pid>/stat, and the rules for leaks and throttling. Then the probe on this very process:
 * a busy loop, a sleep, an allocation and a busy child process must each show.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuPerWall, cpuPerWallMinWallMs, energyJoules, energyOver, frequencyDrop, leakSuspected, lifecycleProbe, processCpuMs, readCpuMhz, readEnergy, throttled } from '../src/measure/lifecycle.js';
import { testTempDir } from './temp-dir.js';

const MiB = 2 ** 20;

function write(root: string, path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}

/** A powercap tree with two packages and a subzone, which must not count twice. */
function rapl(root: string, pkg0Uj: number, pkg1Uj: number, core0Uj: number): void {
  const range = 262_143_328_850;
  write(root, 'sys/class/powercap/intel-rapl:0/energy_uj', `${pkg0Uj}\n`);
  write(root, 'sys/class/powercap/intel-rapl:0/max_energy_range_uj', `${range}\n`);
  write(root, 'sys/class/powercap/intel-rapl:0/name', 'package-0\n');
  write(root, 'sys/class/powercap/intel-rapl:0:0/energy_uj', `${core0Uj}\n`);
  write(root, 'sys/class/powercap/intel-rapl:0:0/max_energy_range_uj', `${range}\n`);
  write(root, 'sys/class/powercap/intel-rapl:1/energy_uj', `${pkg1Uj}\n`);
  write(root, 'sys/class/powercap/intel-rapl:1/max_energy_range_uj', `${range}\n`);
  write(root, 'sys/class/powercap/intel-rapl:1/name', 'package-1\n');
}

describe('RAPL energy', () => {
  it('sums the package domains between two readings, not their subzones', () => {
    const root = testTempDir('formbench-rapl-');
    rapl(root, 1_000_000, 5_000_000, 700_000);
    const before = readEnergy({ root });
    rapl(root, 4_000_000, 6_500_000, 2_700_000);
    const after = readEnergy({ root });
    assert.ok(!('unsupported' in before) && !('unsupported' in after));
    assert.deepEqual(before.domains.map((d) => d.name), ['intel-rapl:0:package-0', 'intel-rapl:1:package-1']);
    // 3 J on package 0, 1.5 J on package 1; the core subzone's 2 J are part of package 0's.
    assert.equal(energyJoules(before, after), 4.5);
    assert.deepEqual(energyOver(before, after, 9), { joules: 4.5, joulesPerInference: 0.5 });
  });

  it('adds the range once where a counter wrapped past max_energy_range_uj', () => {
    const range = 262_143_328_850;
    const before = { domains: [{ name: 'p0', energyUj: range - 1_000_000, maxEnergyRangeUj: range }] };
    const after = { domains: [{ name: 'p0', energyUj: 2_000_000, maxEnergyRangeUj: range }] };
    assert.equal(energyJoules(before, after), 3);
  });

  it('is unsupported, never 0, without powercap, without a package domain, or with counters that do not move', () => {
    const none = testTempDir('formbench-no-rapl-');
    assert.match((readEnergy({ root: none }) as { unsupported: string }).unsupported, /powercap is absent/);
    write(none, 'sys/class/powercap/intel-rapl:0:0/energy_uj', '5\n');
    assert.match((readEnergy({ root: none }) as { unsupported: string }).unsupported, /no RAPL package domain/);
    const frozen = { domains: [{ name: 'p0', energyUj: 42, maxEnergyRangeUj: 1000 }] };
    assert.deepEqual(energyOver(frozen, frozen, 10), { unsupported: 'the RAPL counters did not advance' });
    assert.deepEqual(energyOver({ unsupported: 'x' }, frozen, 10), { unsupported: 'x' });
  });

  it('says so where energy_uj cannot be read', () => {
    const root = testTempDir('formbench-rapl-dir-');
    // A folder in its place: unreadable as a file even by root (EACCES needs a non-root user).
    mkdirSync(join(root, 'sys/class/powercap/intel-rapl:0/energy_uj'), { recursive: true });
    assert.match((readEnergy({ root }) as { unsupported: string }).unsupported, /intel-rapl:0\/energy_uj cannot be read \(EISDIR\)/);
  });
});

describe('CPU frequency', () => {
  it('takes the fastest CPU from cpufreq (kHz) where the kernel has it', () => {
    const root = testTempDir('formbench-cpufreq-');
    write(root, 'sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq', '3400000\n');
    write(root, 'sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq', '800000\n');
    write(root, 'proc/cpuinfo', 'cpu MHz\t\t: 2600.000\n');
    assert.deepEqual(readCpuMhz({ root }), { mhz: 3400, source: 'cpufreq' });
  });

  it('falls back to /proc/cpuinfo, and is undefined where neither says', () => {
    const root = testTempDir('formbench-cpuinfo-');
    mkdirSync(join(root, 'sys/devices/system/cpu/cpu0'), { recursive: true });
    write(root, 'proc/cpuinfo', 'processor\t: 0\ncpu MHz\t\t: 2600.000\nprocessor\t: 1\ncpu MHz\t\t: 2599.5\n');
    assert.deepEqual(readCpuMhz({ root }), { mhz: 2600, source: 'cpuinfo' });
    assert.equal(readCpuMhz({ root: testTempDir('formbench-nofreq-') }), undefined);
  });

  it('flags a drop of more than 10% as throttling, and nothing where a reading is missing', () => {
    assert.ok(Math.abs(frequencyDrop(3000, 2600)! - 0.1333) < 1e-3);
    assert.equal(throttled(3000, 2600), true);
    assert.equal(throttled(3000, 2800), false);
    assert.equal(throttled(2600, 3400), false);
    assert.equal(throttled(null, 2600), false);
    assert.equal(frequencyDrop(undefined, 2600), undefined);
  });
});

describe('CPU time and memory rules', () => {
  it('reads utime + stime from /proc/<pid>/stat, a command name with spaces and parentheses included', () => {
    const root = testTempDir('formbench-stat-');
    // Fields after the name: state, ppid, pgrp, session, tty, tpgid, flags, minflt, cminflt, majflt, cmajflt, utime, stime.
    write(root, 'proc/4242/stat', '4242 (python3 (torch) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 47 0 0 20 0 3 0\n');
    assert.equal(processCpuMs(4242, { root }), 1970);
    assert.equal(processCpuMs(4243, { root }), undefined);
  });

  it('gives CPU ÷ wall, and no ratio for no wall time', () => {
    assert.equal(cpuPerWall(1970, 1000), 1.97);
    assert.equal(cpuPerWall(5, 0), undefined);
  });

  it('calls growth a leak only above both 10% of the start and 32 MiB', () => {
    assert.equal(leakSuspected(200 * MiB, 40 * MiB), true);
    assert.equal(leakSuspected(500 * MiB, 40 * MiB), false, '8% of the start');
    assert.equal(leakSuspected(100 * MiB, 20 * MiB), false, 'under 32 MiB');
    assert.equal(leakSuspected(100 * MiB, -50 * MiB), false);
    assert.equal(leakSuspected(null, 40 * MiB), false);
  });
});

// Bounded by CPU time, not wall time: on a busy machine a loop gets a share of a core, and the
// figures must hold all the same.
const cpuMsNow = (): number => (process.cpuUsage().user + process.cpuUsage().system) / 1000;

describe('the probe on this process', () => {
  it('counts a busy loop\'s CPU time, at most one thread of it, and a sleep as none', async () => {
    const busy = lifecycleProbe();
    busy.start();
    const until = cpuMsNow() + 300;
    while (cpuMsNow() < until);
    const spun = busy.stop(1);
    assert.ok(spun.cpuMs >= 300 && spun.cpuMs < 450, `busy loop: ${spun.cpuMs} ms of CPU`);
    assert.ok(spun.cpuPerWall! > 0 && spun.cpuPerWall! < 1.5, `busy loop: CPU/wall ${spun.cpuPerWall}`);
    const idle = lifecycleProbe();
    idle.start();
    await sleep(300);
    const slept = idle.stop(1);
    assert.ok(slept.cpuPerWall! < 0.3, `sleep: CPU/wall ${slept.cpuPerWall}`);
    assert.ok(slept.timedWallMs >= 290, `${slept.timedWallMs} ms`);
  });

  it('gives no CPU ÷ wall for a window too short for the clocks it divides', () => {
    const probe = lifecycleProbe();
    probe.start();
    const l = probe.stop(1);
    assert.ok(l.timedWallMs < cpuPerWallMinWallMs(false), `${l.timedWallMs} ms`);
    assert.equal(l.cpuPerWall, undefined);
    assert.ok(l.cpuMs >= 0);
  });

  it("counts a child's CPU time (the torch engine's Python) and sees memory held over the runs", async () => {
    const probe = lifecycleProbe();
    probe.start();
    // The child spends 500 ms of CPU, says so, and stays alive (idle) until killed.
    const script = 'const c = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }; while (c() < 500); console.log("spent"); setInterval(() => {}, 1000);';
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    const held = Buffer.alloc(96 * MiB, 1);
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    const l = probe.stop(4);
    child.kill('SIGKILL');
    // This process mostly waits: without the child's share the CPU time would be well under 500 ms.
    assert.ok(l.cpuMs >= 450, `with a busy child: ${l.cpuMs} ms of CPU`);
    assert.ok(l.cpuPerWall! > 0 && l.cpuPerWall! < 2.5, `with a busy child: CPU/wall ${l.cpuPerWall}`);
    assert.ok(l.rssGrowthBytes! > 90 * MiB, `RSS growth ${l.rssGrowthBytes! / MiB} MiB`);
    assert.ok(held.length > 0);
    assert.ok(l.cpuMhzSource === undefined || l.cpuMhzBefore! > 0);
    assert.ok('unsupported' in l.energy ? l.energy.unsupported.length > 0 : l.energy.joulesPerInference > 0);
  });
});
