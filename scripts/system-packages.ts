/**
 * Debian packages the project needs, installed with apt when missing so that a fresh clone runs
 * with `npm start` / `npm test` alone. Each package is checked by the file it provides.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface DebianPackage {
  readonly name: string;
  /** A file the package installs: present means installed. */
  readonly provides: string;
  readonly why: string;
}

export const CHROMIUM: DebianPackage = { name: 'chromium', provides: '/usr/bin/chromium', why: 'browser tests (WebGPU/WASM in a real Chromium)' };
export const DEBIAN_PYTHON: DebianPackage = { name: 'python3', provides: '/usr/bin/python3', why: 'the training code tests (Debian python, which python3-torch extends)' };
export const TORCH: DebianPackage = { name: 'python3-torch', provides: '/usr/lib/python3/dist-packages/torch/__init__.py', why: 'model training and its tests' };
/** The OpenMP build of OpenBLAS: without it Debian's torch runs matmuls ~20× slower on CPU. */
export const OPENBLAS_OPENMP: DebianPackage = { name: 'libopenblas0-openmp', provides: '/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3', why: 'fast CPU matmuls for torch' };
export const PYTHON_ONNX: DebianPackage = { name: 'python3-onnx', provides: '/usr/lib/python3/dist-packages/onnx/__init__.py', why: 'the ONNX export and its parity test' };
export const FFMPEG: DebianPackage = { name: 'ffmpeg', provides: '/usr/bin/ffmpeg', why: 'the reference generator writes MP4 with ffmpeg' };

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed with exit code ${result.status ?? result.signal}`);
}

/** Installs whichever of `packages` are missing; throws with the reason when it cannot. */
export function ensureDebianPackages(packages: readonly DebianPackage[]): void {
  const missing = packages.filter((p) => !existsSync(p.provides));
  if (missing.length === 0) return;
  const names = missing.map((p) => p.name);
  console.log(`zoetrope: installing Debian packages ${names.join(', ')} (${missing.map((p) => p.why).join('; ')})…`);
  const asRoot = process.getuid?.() === 0;
  const sudo = asRoot ? [] : ['sudo', '-n'];
  if (!asRoot && spawnSync('sudo', ['-n', 'true']).status !== 0) {
    throw new Error(`missing Debian packages ${names.join(', ')}: install them with \`sudo apt-get install -y ${names.join(' ')}\``);
  }
  const [cmd = 'apt-get', ...pre] = [...sudo, 'apt-get'];
  run(cmd, [...pre, 'update', '-qq']);
  run(cmd, [...pre, 'install', '-y', '-qq', '--no-install-recommends', ...names]);
  const still = missing.filter((p) => !existsSync(p.provides));
  if (still.length > 0) throw new Error(`apt-get installed ${names.join(', ')} but ${still.map((p) => p.provides).join(', ')} is still missing`);
}
