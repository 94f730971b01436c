import { runColdStartBench, type ColdStartResult } from './cold-start-bench.ts';
import { runDatastoreBench, type DatastoreResult } from './datastore-bench.ts';
import { runExecBench, type ExecResult } from './exec-bench.ts';
import { runDiskBench, type DiskResult } from './disk-bench.ts';
import { cleanupBench } from './cleanup.ts';
import { runDeployBench, type DeployResult } from './deploy-bench.ts';
import { runDeployPhases, type PhaseBreakdown } from './deploy-phases.ts';
import { runDeployBurst, type BurstResult } from './deploy-burst.ts';
import { runHostsBench, type HostsResult } from './hosts-bench.ts';
import { createBridge } from './links.ts';
import { createOvsBridge, ovsAgentDeployKind, ovsDeployExecutableKind, ovsRawBaselineKind, removeOvsBridge } from './ovs-deploy-kinds.ts';
import { agentDeployKind, deployExecutableKind, rawBaselineKind } from './deploy-kinds.ts';
import { startBenchAgent, type BenchAgent } from './action-agent.ts';
import { runMonitorBench, type MonitorResult } from './monitor-bench.ts';
import { runNovaBench, type NovaResult } from './nova-bench.ts';
import { runNovaSnapshotBench, type NovaSnapshotResult } from './nova-snapshot-bench.ts';
import { machineNode, runRuntimeBench, type RuntimeResult } from './runtime-bench.ts';
import { NOVA_RESIZE_MAX_RATIO, runNovaResizeBench } from './nova-resize-bench.ts';
import { startComputeService } from './nova-service.ts';
import { describeMachine, preflight, writeHostConfig } from './preflight.ts';
import { RawEngine } from './raw-engine.ts';
import { buildReport, deployGoalMet, formatReport, writeReport } from './report.ts';
import { benchPlan, BRIDGE, BRIDGE_ADDRESS, BURST_FIRST_N, vmAddress, type Section } from './settings.ts';

/**
 * `npm run bench`: the deploy executable against the raw baseline (and, when the ratio misses its goal,
 * a breakdown of the deploy executable's time), the driver's cold start against bare node, and the
 * monitoring probes against the engine's stats endpoint at 200 and 500 VMs, and the Nova compute service's
 * spawns against raw create + start and the shim's snapshots into Glance against commit + save (DVB_ONLY picks some of these); prints tables and writes bench/results/latest.json. Exits 0 whatever the figures are;
 * non-zero only when the benchmark could not run (1) or was interrupted (130). Everything it made is
 * removed on the way out, and leftovers of an interrupted earlier run on the way in.
 */
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

async function main(): Promise<number> {
  const plan = benchPlan();
  const engine = new RawEngine(16);
  const abort = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) process.exit(130); // asked twice: stop without waiting for the cleanup
    log(`${signal}: stopping after the current step, then cleaning up`);
    abort.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const watchdog = setTimeout(() => {
    log(`still running after ${Math.round(plan.runTimeoutMs / 60_000)} minutes: stopping`);
    abort.abort(new Error('took too long'));
  }, plan.runTimeoutMs);
  watchdog.unref();

  // Every driver executable the bench starts names its agent: none (node per action) unless a part says which.
  process.env.DOCKVISOR_AGENT_SOCKET = '';
  let benchAgent: BenchAgent | undefined;
  try {
    await preflight(engine, plan.sections);
    const leftovers = await cleanupBench(engine, log);
    if (leftovers.containers.length || leftovers.links.length || leftovers.files.length) {
      log(`removed leftovers of an earlier run: ${describeLeftovers(leftovers)}`);
    }
    const machine = await describeMachine(engine);
    const timeoutMs = plan.childTimeoutMs;
    // The deploys are measured both ways: the launcher starting node, and handing the action to a resident agent.
    if (['deploy', 'ovs', 'burst', 'datastore'].some((section) => plan.sections.includes(section as Section))) benchAgent = await startBenchAgent();
    const agent = { socket: benchAgent?.socket ?? '' };
    log(`running ${plan.sections.join(', ')}; stops by itself after ${Math.round(plan.runTimeoutMs / 60_000)} minutes`);

    let deploy: DeployResult | undefined;
    let ovsDeploy: DeployResult | undefined;
    let phases: PhaseBreakdown | undefined;
    let coldStart: ColdStartResult | undefined;
    let monitor: MonitorResult | undefined;
    let datastore: DatastoreResult | undefined;
    let runtime: RuntimeResult | undefined;
    let burst: BurstResult | undefined;
    if (['deploy', 'ovs', 'burst', 'cold-start', 'runtime'].some((section) => plan.sections.includes(section as Section))) {
      const configPath = writeHostConfig();
      if (['deploy', 'burst', 'runtime'].some((section) => plan.sections.includes(section as Section))) await createBridge(BRIDGE, BRIDGE_ADDRESS);
      if (plan.sections.includes('deploy')) {
        log(`deploy executable vs raw baseline: ${plan.deployWarmup} warm-up + ${plan.deployRounds} rounds`);
        const kindContext = { engine, configPath, timeoutMs, abort: abort.signal, agentSocket: agent.socket };
        deploy = await runDeployBench(kindContext, plan, log, [deployExecutableKind, agentDeployKind, rawBaselineKind]);
        if (plan.phaseRuns > 0) {
          log(`${plan.phaseRuns} instrumented deploys (node per action) to see where the time goes`);
          const rounds = plan.deployWarmup + plan.deployRounds;
          phases = await runDeployPhases(kindContext, plan.phaseRuns, rounds, (i) => vmAddress(3 * rounds + i), plan.settleMs);
        }
      }
      if (plan.sections.includes('ovs')) {
        log(`deploy with one NIC on Open vSwitch vs raw baseline: ${plan.deployWarmup} warm-up + ${plan.deployRounds} rounds`);
        createOvsBridge();
        try {
          const kinds = [ovsDeployExecutableKind, ovsAgentDeployKind, ovsRawBaselineKind] as const;
          ovsDeploy = await runDeployBench({ engine, configPath, timeoutMs, abort: abort.signal, agentSocket: agent.socket }, plan, log, kinds);
        } finally {
          removeOvsBridge();
        }
      }
      if (plan.sections.includes('burst')) {
        log(`${plan.burstCount} deploys at once, raw baseline and deploy executable, two passes each`);
        burst = await runDeployBurst(
          { engine, configPath, timeoutMs, abort: abort.signal, agentSocket: agent.socket },
          plan.burstCount,
          BURST_FIRST_N,
          vmAddress,
          log,
        );
      }
      if (plan.sections.includes('cold-start')) {
        log(`cold start vs node -e 0: ${plan.coldWarmup} warm-up + ${plan.coldRuns} pairs`);
        coldStart = await runColdStartBench({ configPath, timeoutMs, abort: abort.signal }, plan, log);
      }
      if (plan.sections.includes('runtime')) {
        log(`runtime: cold start and deploy on dockvisor's runtime and on the machine's node (${machineNode() ?? 'none'})`);
        runtime = await runRuntimeBench({ engine, configPath, timeoutMs, abort: abort.signal }, plan, log);
      }
    }
    if (plan.sections.includes('monitor')) {
      const m = plan.monitor;
      log(
        `monitoring probes at ${m.sizes.join(', ')} VMs: ${m.warmup} warm-up + ${m.runs} runs each, then the stats endpoint (${m.statsConcurrency} at a time)`,
      );
      monitor = await runMonitorBench({ engine, timeoutMs, abort: abort.signal }, m, log);
    }

    let hosts: HostsResult | undefined;
    if (plan.sections.includes('hosts')) {
      hosts = await runHostsBench({ runs: plan.hostRuns, timeoutMs, abort: abort.signal }, log);
    }

    let nova: NovaResult | undefined;
    if (plan.sections.includes('nova')) {
      const n = plan.nova;
      log(
        `nova: ${n.warmup} warm-up + ${n.rounds} rounds of spawn through the compute service vs raw create + start, then ${n.spawns} of each ${n.concurrency} at a time`,
      );
      const service = await startComputeService(writeHostConfig());
      try {
        nova = await runNovaBench({ engine, service, abort: abort.signal }, n, plan.settleMs, log);
        log(`nova: ${n.warmup} warm-up + ${n.rounds} rounds of resize on one host through the Nova shim vs stop + commit + create + start`);
        const resize = await runNovaResizeBench({ engine, service, abort: abort.signal }, n, plan.settleMs, log);
        nova = { ...nova, resize: { ...resize, goal: { maxRatio: NOVA_RESIZE_MAX_RATIO, met: resize.ratio.median <= NOVA_RESIZE_MAX_RATIO } } };
      } finally {
        await service.stop();
      }
    }

    let novaSnapshot: NovaSnapshotResult | undefined;
    if (plan.sections.includes('nova-snapshot')) {
      const n = plan.novaSnapshot;
      log(`nova snapshot: ${n.warmup} warm-up + ${n.rounds} rounds of the shim's snapshot into Glance vs engine commit + save`);
      novaSnapshot = await runNovaSnapshotBench({ engine, configPath: writeHostConfig(), abort: abort.signal }, n, plan.settleMs, log);
    }

    if (plan.sections.includes('datastore')) {
      log(`image datastore: cp vs pull + push, deploy from the datastore vs pull + create + start, ${plan.datastoreRounds} rounds each`);
      datastore = await runDatastoreBench(plan.datastoreRounds, plan.childTimeoutMs * 2, log, agent.socket);
    }

    let exec: ExecResult | undefined;
    if (plan.sections.includes('exec')) {
      log(`onevm exec round trip vs docker exec: 1 warm-up + ${plan.deployRounds} rounds`);
      exec = await runExecBench({ engine, configPath: writeHostConfig(), timeoutMs, abort: abort.signal }, plan.deployRounds, log);
    }

    let disk: DiskResult | undefined;
    if (plan.sections.includes('disk')) {
      log(`disk hot-plug: attach_disk and detach_disk of a running VM vs docker run -v, 2 warm-up + ${plan.diskRounds} rounds`);
      disk = await runDiskBench({ configPath: writeHostConfig(), timeoutMs, abort: abort.signal }, 2, plan.diskRounds, log);
    }

    const report = buildReport(machine, { deploy, ovsDeploy, burst, phases, coldStart, runtime, monitor, hosts, nova, novaSnapshot, datastore, exec, disk });
    const path = writeReport(report);
    process.stdout.write(`\n${formatReport(report)}\n\nwritten to ${path}\n`);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (abort.signal.aborted) {
      const reason = abort.signal.reason instanceof Error ? abort.signal.reason.message : 'stopped';
      log(`${reason}; no results written`);
      return signals > 0 ? 130 : 1;
    }
    log(`could not run: ${message}`);
    return 1;
  } finally {
    clearTimeout(watchdog);
    if (benchAgent) log(`the action agent ran ${await benchAgent.stop()} actions`);
    try {
      await cleanupBench(engine, log);
    } catch (error) {
      log(`cleanup failed, run the bench again to retry it: ${error instanceof Error ? error.message : String(error)}`);
    }
    engine.close();
  }
}

/** Names of what a cleanup removed, a long list of containers counted rather than named. */
function describeLeftovers({ containers, links, files }: { containers: string[]; links: string[]; files: string[] }): string {
  const named = containers.length > 10 ? [`${containers.length} containers (${containers.slice(0, 3).join(', ')}, ...)`] : containers;
  return [...named, ...links, ...files].join(', ');
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`could not run: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
