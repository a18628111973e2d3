import { z } from 'zod';

/** A run-relative artifact path (checked again on every read by RunArtifacts). */
const relPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..') && !p.includes('\\'), {
    message: 'expected a path relative to the run folder (no leading "/", no "..", no backslash)',
  });

export const SIGNOFF_ROLES = ['technical', 'product', 'compliance'] as const;
export type SignoffRole = (typeof SIGNOFF_ROLES)[number];

export const PathsSchema = z.strictObject({
  config: relPath,
  training_log: relPath,
  metrics: relPath,
  test_results: relPath,
  confusion_matrix: relPath,
  checkpoint_best: relPath,
  checkpoint_last: relPath,
  onnx_model: relPath,
  torchscript_model: relPath,
  deployment_guide: relPath,
  model_card: relPath,
  final_report: relPath,
  requirements: relPath,
  environment: relPath,
  test_inputs: relPath,
  test_labels: relPath,
  reference_outputs: relPath,
  run_policy: relPath,
});

const positive = z.number().positive();
const fraction = z.number().min(0).max(1);
const percent = z.number().min(0).max(100);

export const PolicySchema = z.strictObject({
  /** Name of the policy (from the config's policies map, or "default"). */
  name: z.string().min(1),
  /** Shown in the gate header and the Final Sign-Off block; defaults to the run folder's name. */
  model_name: z.string().min(1).nullable(),
  /** Test accuracy target, in percent. */
  target_accuracy: percent,
  val_gap: z.strictObject({
    /** Gap at or above this (percentage points) fails. */
    max_pp: positive,
    /** Gap below this is graded "excellent"; between this and max_pp "acceptable". */
    excellent_pp: positive,
  }),
  per_class: z.strictObject({
    /** Every class's F1 must be above this (fraction). */
    min_f1: fraction,
    /** Every class's recall must be at least this (fraction). */
    min_recall: fraction,
  }),
  export: z.strictObject({
    /** Exports smaller than this are refused as empty/truncated. */
    min_bytes: z.number().int().nonnegative(),
    /** Plausible export size relative to the best checkpoint's size. */
    min_checkpoint_ratio: positive,
    max_checkpoint_ratio: positive,
  }),
  parity: z.strictObject({
    /** |ONNX accuracy − PyTorch accuracy| must be at most this many percentage points. */
    max_delta_pp: z.number().nonnegative(),
    batch_size: z.number().int().positive().max(4096),
    atol: z.number().nonnegative(),
    rtol: z.number().nonnegative(),
    /** Predictions whose argmax differs from the reference logits that are still tolerated. */
    max_flipped: z.number().int().nonnegative(),
  }),
  latency: z.strictObject({
    p95_budget_ms: positive,
    /** Timed single-sample requests of the load test (the checklist asks for 1000+). */
    requests: z.number().int().min(1),
    warmup_requests: z.number().int().nonnegative(),
    /** Extra batch sizes measured for throughput (per-sample latency reported). */
    batch_sizes: z.array(z.number().int().positive().max(4096)),
    /** Concurrent in-flight requests levels measured for throughput. */
    concurrency: z.array(z.number().int().positive().max(256)),
    /** onnxruntime intra-op threads (0 = onnxruntime's default). */
    intra_op_threads: z.number().int().nonnegative(),
  }),
  docs: z.strictObject({
    deployment_guide_sections: z.array(z.string().min(1)).min(1),
    test_results_sections: z.array(z.string().min(1)).min(1),
    monitoring_section: z.string().min(1),
    /** A section with fewer non-heading characters than this counts as empty. */
    min_section_chars: z.number().int().nonnegative(),
  }),
  qa: z.strictObject({
    /** Severities that block when an open issue has them. */
    blocking_severities: z.array(z.string().regex(/^[A-Za-z0-9]+$/)).min(1),
  }),
  signoff: z.strictObject({
    required_roles: z.array(z.enum(SIGNOFF_ROLES)),
    allow_self_approval: z.boolean(),
  }),
  limits: z.strictObject({
    /** Cap for any text/JSON/markdown file read whole. */
    max_text_bytes: z.number().int().positive(),
    /** Cap for a checkpoint file. */
    max_checkpoint_bytes: z.number().int().positive(),
    /** Cap for the sum of a checkpoint zip's declared uncompressed entry sizes (zip bombs). */
    max_checkpoint_uncompressed_bytes: z.number().int().positive(),
    /** Cap for one zip entry's uncompressed/compressed ratio (entries over 1 MiB). */
    max_zip_compression_ratio: z.number().positive(),
    /** Cap for a checkpoint's data.pkl (the pickle is read whole). */
    max_pickle_bytes: z.number().int().positive(),
    /** Cap for an ONNX model (with external data). */
    max_onnx_bytes: z.number().int().positive(),
    /** Cap for nodes in an ONNX graph (subgraphs included); more is refused as hostile. */
    max_onnx_nodes: z.number().int().positive(),
  }),
  paths: PathsSchema,
});

export type Policy = z.infer<typeof PolicySchema>;
export type PolicyPaths = z.infer<typeof PathsSchema>;

export const DEFAULT_POLICY: Policy = {
  name: 'default',
  model_name: null,
  target_accuracy: 80,
  val_gap: { max_pp: 5, excellent_pp: 2 },
  per_class: { min_f1: 0.7, min_recall: 0.5 },
  export: { min_bytes: 1024, min_checkpoint_ratio: 0.05, max_checkpoint_ratio: 10 },
  parity: { max_delta_pp: 0.5, batch_size: 32, atol: 1e-4, rtol: 1e-3, max_flipped: 0 },
  latency: {
    p95_budget_ms: 100,
    requests: 1000,
    warmup_requests: 50,
    batch_sizes: [1, 16, 32],
    concurrency: [1],
    intra_op_threads: 0,
  },
  docs: {
    deployment_guide_sections: [
      'Model Overview',
      'Input Specification',
      'Output Specification',
      'Inference API',
      'Performance Characteristics',
      'Monitoring Recommendations',
      'Deployment Environments',
      'Troubleshooting',
    ],
    test_results_sections: [
      'Performance Metrics',
      'Validation vs Test',
      'Per-Class Performance',
      'Target Achievement',
      'Confusion Matrix',
      'Failure Mode',
    ],
    monitoring_section: 'Monitoring Recommendations',
    min_section_chars: 20,
  },
  qa: { blocking_severities: ['P0', 'P1'] },
  signoff: { required_roles: ['technical', 'product', 'compliance'], allow_self_approval: false },
  limits: {
    max_text_bytes: 8 * 1024 * 1024,
    max_checkpoint_bytes: 4 * 1024 * 1024 * 1024,
    max_checkpoint_uncompressed_bytes: 8 * 1024 * 1024 * 1024,
    max_zip_compression_ratio: 100,
    max_pickle_bytes: 64 * 1024 * 1024,
    max_onnx_bytes: 4 * 1024 * 1024 * 1024,
    max_onnx_nodes: 250_000,
  },
  paths: {
    config: 'configs/final_config.yaml',
    training_log: 'results/production/training.log',
    metrics: 'results/production/metrics.json',
    test_results: 'results/production/test_results.md',
    confusion_matrix: 'results/production/confusion_matrix.png',
    checkpoint_best: 'checkpoints/production/final_model_best.pt',
    checkpoint_last: 'checkpoints/production/final_model_last.pt',
    onnx_model: 'models/production_model.onnx',
    torchscript_model: 'models/production_model.pt',
    deployment_guide: 'docs/deployment_guide.md',
    model_card: 'docs/model_card.md',
    final_report: 'final_report.md',
    requirements: 'requirements.txt',
    environment: 'environment.yml',
    test_inputs: 'data/test/inputs.npy',
    test_labels: 'data/test/labels.npy',
    reference_outputs: 'data/test/reference_outputs.npy',
    run_policy: 'readiness.yml',
  },
};
