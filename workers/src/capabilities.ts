/**
 * What this device can run, probed once: the engine picks WebGPU or WASM and the precision from
 * this frozen table (STYLE.md 7). Works in a page and in a worker.
 */
export interface Capabilities {
  readonly webgpu: boolean;
  readonly adapter: string | undefined;
  readonly shaderF16: boolean;
  readonly maxBufferSize: number;
  readonly maxStorageBufferBindingSize: number;
  readonly crossOriginIsolated: boolean;
  /** Threads onnxruntime-web's WASM backend may use (1 unless cross-origin isolated). */
  readonly wasmThreads: number;
  readonly deviceMemoryGiB: number | undefined;
}

async function requestAdapter(nav: WorkerNavigator): Promise<GPUAdapter | null> {
  if (!('gpu' in nav)) return null;
  try {
    return await nav.gpu.requestAdapter();
  } catch {
    return null; // a blocked or crashed GPU process reads as "no WebGPU", never as a failure
  }
}

export async function probeCapabilities(): Promise<Capabilities> {
  const nav = globalThis.navigator as WorkerNavigator & { deviceMemory?: number };
  const isolated = globalThis.crossOriginIsolated === true;
  const adapter = await requestAdapter(nav);
  const info = adapter?.info;
  return Object.freeze({
    webgpu: adapter !== null,
    adapter: info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter' : undefined,
    shaderF16: adapter?.features.has('shader-f16') ?? false,
    maxBufferSize: adapter?.limits.maxBufferSize ?? 0,
    maxStorageBufferBindingSize: adapter?.limits.maxStorageBufferBindingSize ?? 0,
    crossOriginIsolated: isolated,
    wasmThreads: isolated ? Math.max(1, Math.min(4, nav.hardwareConcurrency || 1)) : 1,
    deviceMemoryGiB: nav.deviceMemory,
  });
}
