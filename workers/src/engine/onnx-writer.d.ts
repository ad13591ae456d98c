/**
 * Writes ONNX ModelProto bytes (onnx.proto field numbers) for small graphs built at run time (the
 * engine's on-GPU sampler step) and in tests (fixtures without Python). Covers float32
 * initializers, int/float attributes, fixed or symbolic input shapes.
 */
export interface OnnxValueInfo {
    readonly name: string;
    /** Sizes, or a symbolic name for a dynamic dimension. */
    readonly shape: readonly (number | string)[];
}
export interface OnnxNodeSpec {
    readonly op: string;
    readonly inputs: readonly string[];
    readonly outputs: readonly string[];
    readonly attributes?: Readonly<Record<string, number | readonly number[]>>;
    /** Integer attributes are written as INT(S); anything listed here as FLOAT(S). */
    readonly floatAttributes?: readonly string[];
}
export interface OnnxInitializer {
    readonly name: string;
    readonly dims: readonly number[];
    readonly data: Float32Array;
}
export interface OnnxModelSpec {
    readonly name: string;
    readonly opset: number;
    readonly inputs: readonly OnnxValueInfo[];
    readonly outputs: readonly OnnxValueInfo[];
    readonly nodes: readonly OnnxNodeSpec[];
    readonly initializers: readonly OnnxInitializer[];
}
export declare function encodeOnnxModel(spec: OnnxModelSpec): Uint8Array;
