/**
 * How Zoetrope starts Debian's Chromium for tests and benchmarks (DESIGN.md: measured flags).
 * WebGPU runs on SwiftShader (Vulkan on the CPU), so GPU tests use tiny graphs.
 */
export declare const CHROMIUM_PATH: string;
export declare const CHROMIUM_ARGS: readonly ["--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader", "--use-webgpu-adapter=swiftshader"];
/** Headers that make a page cross-origin isolated (SharedArrayBuffer for WASM threads). */
export declare const ISOLATION_HEADERS: {
    readonly 'Cross-Origin-Opener-Policy': "same-origin";
    readonly 'Cross-Origin-Embedder-Policy': "require-corp";
    readonly 'Cross-Origin-Resource-Policy': "same-origin";
};
