import { defineConfig } from 'vite';

/** Cross-origin isolation: SharedArrayBuffer for WASM threads, and navigator.gpu in workers. */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const edgeOrigin = process.env['ZOETROPE_EDGE_ORIGIN'] ?? 'http://127.0.0.1:8787';
const proxy = Object.fromEntries(['/api', '/.well-known', '/r/'].map((path) => [path, { target: edgeOrigin, changeOrigin: false }]));

export default defineConfig({
  root: 'web',
  publicDir: false,
  build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022', sourcemap: true },
  server: { host: '127.0.0.1', port: 5173, strictPort: true, headers: isolation, proxy },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true, headers: isolation, proxy },
  // onnxruntime-web loads its .wasm next to its own module; pre-bundling would move it.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  worker: { format: 'es' },
});
