import { parentPort } from 'node:worker_threads';
import { answerDatasetRequest, type DatasetWorkerRequest } from './dataset.ts';

// Worker entry of exportDataset: the work is answerDatasetRequest, which also runs without a worker.
const port = parentPort;
if (!port) throw new Error('dataset-worker.ts must run as a worker thread');
// One clip at a time, in arrival order: a clip is CPU-bound, interleaving would only add memory.
let queue = Promise.resolve();
port.on('message', (request: DatasetWorkerRequest) => {
  queue = queue.then(async () => {
    const { reply, transfer } = await answerDatasetRequest(request);
    port.postMessage(reply, transfer);
  });
});
