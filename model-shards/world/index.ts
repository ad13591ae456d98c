// Public surface of the world (model-shards/world): scenes, the simulator, renderer and sound, prompts,
// dataset export and the physics bench. Training code (issue: the Draft and Pro models) and the
// reference generator import from here.
export { synthesizeAudio, toInt16, onsetSamples, type AudioOptions } from './audio.ts';
export { calibrate, calibrationMarkdown, type CalibrationReport, type CalibrationRow } from './bench/calibrate.ts';
export { BREAK_KINDS, breakClip, type BreakKind } from './bench/corrupt.ts';
export { judgeDataset, type DatasetJudgement } from './bench/judge-dataset.ts';
export { judgeClip, type AxisVerdict, type ClipToJudge, type ClipVerdict } from './bench/judge.ts';
export { settingPrototypes } from './bench/prototypes.ts';
export { APPEARANCE_SIDE, appearanceRgb, randomAppearance, type Appearance } from './cameo.ts';
export { cameraPath, type CameraView } from './camera.ts';
export { DEFAULT_CLIP, makeClip, renderTrace, type Clip, type ClipOptions } from './clip.ts';
export { sceneFromFacts, sceneFromPrompt, type ComposeOptions } from './compose.ts';
export { exportDataset, parseNpyHeader, resolveExportOptions, type DatasetIndex, type DatasetLayer, type ExportOptions } from './dataset.ts';
export { createRenderer, MAX_FRAME_SIZE, type ClipRenderer } from './render.ts';
export { describeScene, factsOfScene, parsePrompt, type ParsedPrompt, type PromptFacts } from './prompts.ts';
export { sampleScene, type SampleOptions } from './sample.ts';
export { COLOURS, MATERIALS, parseScene, SETTINGS, TIMES_OF_DAY, type Colour, type Material, type Scene, type SceneInput, type Setting, type TimeOfDay } from './scene.ts';
export { initPhysics, simulate } from './simulate.ts';
export type { BodyPose, ContactEvent, FramePose, Trace } from './trace.ts';
