// The documented schema of `nnc count --format json` (README.md, "nnc count"). Counts are exact JSON
// integers; a consumer that needs more than 2^53 should parse them as big integers.
import { z } from "zod";

const count = z.number().int().nonnegative();

const roles = z.object({
  matrix: count,
  embedding: count,
  normScale: count,
  bias: count,
  normShift: count,
  other: count,
});

const shape = z.array(count);
const sum = z.object({ total: count, terms: z.array(z.object({ name: z.string(), bytes: count })) });
const training = z.object({ adam: sum, sgdMomentum: sum, sgd: sum });

export { countSchemaVersion } from "./schema-version.js";

export const countReportSchema = z.object({
  /** 2 since layer shapes are arrays (schema-version.ts). */
  schemaVersion: z.literal(2),
  models: z.array(
    z.object({
      name: z.string(),
      file: z.string(),
      inputs: z.array(z.object({ name: z.string(), shape: z.string(), dtype: z.string() })),
      total: count,
      weights: count,
      biases: count,
      trainable: count,
      nonTrainable: count,
      buffers: count,
      activeParams: count,
      roles,
      tied: z.array(
        z.object({
          tensor: z.string(),
          target: z.string(),
          shape: z.array(count),
          transposed: z.boolean(),
          elements: count,
        }),
      ),
      totalIfTiesCountedTwice: count,
      macs: count,
      flops: count,
      bytes: z.object({ fp32: count, bf16: count, int8: count, int4: count, buffers: count, trainingAdam: count }),
      conventions: z.array(z.string()),
      layers: z.array(
        z.object({
          name: z.string(),
          kind: z.string(),
          depth: z.number().int().positive(),
          inputShapes: z.array(shape),
          outputShape: shape,
          outputShapes: z.array(shape),
          outputShapeText: z.string(),
          tensorShapes: z.array(z.object({ name: z.string(), shape })),
          count: count,
          copiesInModel: count,
          parameters: roles.extend({ total: count, weights: count, biases: count }),
          trainable: count,
          nonTrainable: count,
          buffers: count,
          macs: count,
          activationBytes: count.optional(),
          convention: z.string().optional(),
        }),
      ),
      tensors: z.array(
        z.object({
          name: z.string(),
          shape: z.array(count),
          role: z.enum(["matrix", "embedding", "normScale", "bias", "normShift", "other", "buffer"]),
          copies: count,
          trainable: z.boolean(),
          tiedTo: z.string().optional(),
        }),
      ),
      // Added after 0.1's first schema: older consumers ignore it (zod objects drop unknown keys).
      graph: z.object({
        nodes: z.array(
          z.object({
            id: z.string(),
            kind: z.string(),
            name: z.string(),
            outputShape: z.string(),
            parameters: count,
            count: count,
            cluster: z.boolean(),
            parent: z.string().optional(),
          }),
        ),
        edges: z.array(
          z.object({
            from: z.string(),
            to: z.string(),
            kind: z.enum(["data", "residual", "shortcut", "tie", "share"]),
            value: z.string().optional(),
            transposed: z.boolean().optional(),
          }),
        ),
      }),
      memory: z
        .object({
          batch: count,
          dims: z.record(z.string(), count),
          dtype: z.enum(["float32", "float64"]),
          module: z.object({ activations: sum, inference: sum, training }),
          eager: z.object({
            activations: count.optional(),
            training: training.optional(),
            unknownKinds: z.array(z.string()),
            inference: sum
              .extend({
                onednn: z.literal(false).optional(),
                convention: z.string().optional(),
                oneDnnKinds: z.array(z.string()).optional(),
              })
              .optional(),
            inferenceUnknownKinds: z.array(z.string()),
          }),
        })
        .optional(),
    }),
  ),
  conventions: z.array(z.string()),
});

export type CountReport = z.infer<typeof countReportSchema>;
