/**
 * `npm run render-node -- --edge http://127.0.0.1:8787 --token <token> --model <dir> [--once] [--poll-s 5]`
 *
 * Runs a Pro render node until Ctrl-C / SIGTERM (the job in hand is finished, or failed so the queue
 * hands it to another node, before it exits; a second signal exits at once). `--once` renders at
 * most one job and exits. The token may come from ZOETROPE_RENDER_NODE_TOKEN instead of --token,
 * which keeps it out of the process list. One JSON line per event on stdout.
 */
import { parseArgs } from 'node:util';
import { isZoetropeError } from '../../contracts/index.ts';
import { RenderNode } from './render-node.ts';

const usage = 'usage: npm run render-node -- --edge http://127.0.0.1:8787 --token <64 hex> --model <model dir> [--once] [--poll-s 5]\n(the token may be given as ZOETROPE_RENDER_NODE_TOKEN instead; make one with npm run render-node:token -- --name <node name>)';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { edge: { type: 'string' }, token: { type: 'string' }, model: { type: 'string' }, once: { type: 'boolean' }, 'poll-s': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  let node: RenderNode;
  try {
    node = new RenderNode({
      edge: values.edge ?? '',
      token: values.token ?? process.env['ZOETROPE_RENDER_NODE_TOKEN'] ?? '',
      modelDir: values.model ?? '',
      pollS: values['poll-s'] === undefined ? undefined : Number(values['poll-s']),
    });
  } catch (error) {
    console.error(`render-node: ${(error as Error).message}\n${usage}`);
    return 2;
  }

  const stop = new AbortController();
  const onSignal = (name: string) => {
    if (stop.signal.aborted) process.exit(130);
    console.error(`render-node: ${name}: finishing or failing the job in hand, then stopping (again to exit at once)`);
    stop.abort();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  if (values.once) {
    try {
      const outcome = await node.runOnce(stop.signal);
      if (!outcome) console.error('render-node: no job is waiting');
      return outcome === null || outcome.status === 'done' ? 0 : 1;
    } finally {
      await node.close();
    }
  }
  await node.run(stop.signal);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`render-node: ${isZoetropeError(error) ? error.message : String((error as Error)?.stack ?? error)}`);
    process.exit(1);
  },
);
