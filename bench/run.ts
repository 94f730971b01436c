import { runColdStartBench } from './cold-start-bench.ts';
import { cleanupBench } from './cleanup.ts';
import { runDeployBench } from './deploy-bench.ts';
import { runDeployPhases, type PhaseBreakdown } from './deploy-phases.ts';
import { createBridge } from './links.ts';
import { describeMachine, preflight, writeHostConfig } from './preflight.ts';
import { RawEngine } from './raw-engine.ts';
import { buildReport, deployGoalMet, formatReport, writeReport } from './report.ts';
import { benchPlan, BRIDGE, BRIDGE_ADDRESS, vmAddress } from './settings.ts';

/**
 * `npm run bench`: the deploy executable against the raw baseline (and, when the ratio misses its goal,
 * a breakdown of the deploy executable's time), then the driver's cold start against bare node;
 * prints a table and writes bench/results/latest.json. Exits 0 whatever the figures are;
 * non-zero only when the benchmark could not run (1) or was interrupted (130). Everything it made is
 * removed on the way out, and leftovers of an interrupted earlier run on the way in.
 */
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

async function main(): Promise<number> {
  const plan = benchPlan();
  const engine = new RawEngine();
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
    log(`still running after ${plan.runTimeoutMs / 60_000} minutes: stopping`);
    abort.abort(new Error('took too long'));
  }, plan.runTimeoutMs);
  watchdog.unref();

  try {
    await preflight(engine);
    const leftovers = await cleanupBench(engine);
    if (leftovers.containers.length || leftovers.links.length) {
      log(`removed leftovers of an earlier run: ${[...leftovers.containers, ...leftovers.links].join(', ')}`);
    }
    const machine = await describeMachine(engine);
    const configPath = writeHostConfig();
    await createBridge(BRIDGE, BRIDGE_ADDRESS);

    const timeoutMs = plan.childTimeoutMs;
    log(`deploy executable vs raw baseline: ${plan.deployWarmup} warm-up + ${plan.deployRounds} rounds`);
    const kindContext = { engine, configPath, timeoutMs, abort: abort.signal };
    const deploy = await runDeployBench(kindContext, plan, log);
    let phases: PhaseBreakdown | undefined;
    if (!deployGoalMet(deploy) && plan.phaseRuns > 0) {
      log(`deploy ratio above its goal: ${plan.phaseRuns} instrumented deploys to see where the time goes`);
      const rounds = plan.deployWarmup + plan.deployRounds;
      phases = await runDeployPhases(kindContext, plan.phaseRuns, rounds, (i) => vmAddress(2 * rounds + i), plan.settleMs);
    }
    log(`cold start vs node -e 0: ${plan.coldWarmup} warm-up + ${plan.coldRuns} pairs`);
    const coldStart = await runColdStartBench({ configPath, timeoutMs, abort: abort.signal }, plan, log);

    const report = buildReport(machine, deploy, coldStart, phases);
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
    try {
      await cleanupBench(engine);
    } catch (error) {
      log(`cleanup failed, run the bench again to retry it: ${error instanceof Error ? error.message : String(error)}`);
    }
    engine.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`could not run: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
