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
  config: relPath.describe(
    "Training configuration the run used (must exist; named by the final report's Reproducibility section).",
  ),
  training_log: relPath.describe('Training log; must contain "Training complete", no traceback, no NaN/Inf loss.'),
  metrics: relPath.describe("Metrics JSON: val/test accuracies, loss history (Python's NaN/Infinity tokens are read)."),
  test_results: relPath.describe(
    'Test results document: Test Accuracy/F1/Precision/Recall, per-class table, sections.',
  ),
  confusion_matrix: relPath.describe('Confusion matrix image (a structurally valid PNG).'),
  checkpoint_best: relPath.describe('Best checkpoint (torch.save zip): model_state_dict, epoch, val_acc.'),
  checkpoint_last: relPath.describe('Last checkpoint (torch.save zip).'),
  onnx_model: relPath.describe('ONNX export (parity, inference and provenance checks need it).'),
  torchscript_model: relPath.describe('TorchScript export (torch.jit.save), the alternative deployment format.'),
  deployment_guide: relPath.describe('Deployment guide with the required sections and the monitoring section.'),
  model_card: relPath.describe('Model card (recommended; if absent the final report must justify it).'),
  final_report: relPath.describe('Final report: Reproducibility, Known Issues, Code Review sections.'),
  requirements: relPath.describe('pip requirements with every package pinned with ==.'),
  environment: relPath.describe('conda environment file with exact versions (alternative to requirements).'),
  test_inputs: relPath.describe('Preprocessed test inputs, float [N, …] (.npy, or .npz).'),
  test_labels: relPath.describe('Test labels, integer [N].'),
  reference_outputs: relPath.describe('Optional PyTorch logits [N, C] on the test inputs, for per-sample parity.'),
  run_policy: relPath.describe(
    "The run's own policy file: it may only tighten thresholds (see run_overridable), never set signoff or limits.",
  ),
});

const positive = z.number().positive();
const fraction = z.number().min(0).max(1);
const percent = z.number().min(0).max(100);

const minApprovals = z.number().int().min(1).max(20);

export const PolicySchema = z.strictObject({
  name: z.string().min(1).describe('Name of the policy (from the config\'s policies map, or "default").'),
  model_name: z
    .string()
    .min(1)
    .nullable()
    .describe("Shown in the gate header and the Final Sign-Off block; defaults to the run folder's name."),
  target_accuracy: percent.describe('Test accuracy target, in percent.'),
  val_gap: z
    .strictObject({
      max_pp: positive.describe('Gap at or above this (percentage points) fails.'),
      excellent_pp: positive.describe('Gap below this is graded "excellent"; between this and max_pp "acceptable".'),
    })
    .describe('Validation-test accuracy gap (percentage points).'),
  per_class: z
    .strictObject({
      min_f1: fraction.describe("Every class's F1 must be above this (fraction)."),
      min_recall: fraction.describe("Every class's recall must be at least this (fraction)."),
    })
    .describe('Per-class performance from the per-class table of test_results.md.'),
  export: z
    .strictObject({
      min_bytes: z.number().int().nonnegative().describe('Exports smaller than this are refused as empty/truncated.'),
      min_checkpoint_ratio: positive.describe("Plausible export size relative to the best checkpoint's size."),
      max_checkpoint_ratio: positive.describe("Largest plausible export size relative to the best checkpoint's size."),
    })
    .describe('Export presence and plausibility.'),
  parity: z
    .strictObject({
      max_delta_pp: z
        .number()
        .nonnegative()
        .describe('|ONNX accuracy − PyTorch accuracy| must be at most this many percentage points.'),
      batch_size: z.number().int().positive().max(4096).describe('Batch size of the parity run over the test set.'),
      atol: z.number().nonnegative().describe('Absolute tolerance of ONNX vs reference logits.'),
      rtol: z.number().nonnegative().describe('Relative tolerance of ONNX vs reference logits.'),
      max_flipped: z
        .number()
        .int()
        .nonnegative()
        .describe('Predictions whose argmax differs from the reference logits that are still tolerated.'),
    })
    .describe('ONNX accuracy parity on the test set (export.parity).'),
  latency: z
    .strictObject({
      p95_budget_ms: positive.describe(
        'The load test passes when p95 latency (single requests) is below this many milliseconds (equal fails).',
      ),
      requests: z
        .number()
        .int()
        .min(1)
        .describe('Timed single-sample requests of the load test (the checklist asks for 1000+).'),
      warmup_requests: z.number().int().nonnegative().describe('Untimed requests before the latency load test.'),
      batch_sizes: z
        .array(z.number().int().positive().max(4096))
        .describe('Extra batch sizes measured for throughput (per-sample latency reported).'),
      concurrency: z
        .array(z.number().int().positive().max(256))
        .describe('Concurrent in-flight requests levels measured for throughput.'),
      throughput_seconds: positive
        .max(600)
        .describe(
          'Seconds each optional throughput measurement (extra batch sizes, concurrency levels) runs; bounded by time, not by a request count that scales with model cost.',
        ),
      intra_op_threads: z
        .number()
        .int()
        .nonnegative()
        .describe("onnxruntime intra-op threads (0 = onnxruntime's default)."),
    })
    .describe('Inference smoke test and latency load test (export.inference).'),
  docs: z
    .strictObject({
      deployment_guide_sections: z
        .array(z.string().min(1))
        .min(1)
        .describe(
          'Sections the deployment guide must have, non-empty (heading match ignores level, numbering, case, plurals).',
        ),
      test_results_sections: z
        .array(z.string().min(1))
        .min(1)
        .describe('Sections test_results.md must have, non-empty.'),
      monitoring_section: z
        .string()
        .min(1)
        .describe('Section of the deployment guide that must name metrics, numeric thresholds and actions.'),
      min_section_chars: z
        .number()
        .int()
        .nonnegative()
        .describe('A section with fewer non-heading characters than this counts as empty.'),
    })
    .describe('Document structure.'),
  qa: z
    .strictObject({
      blocking_severities: z
        .array(z.string().regex(/^[A-Za-z0-9]+$/))
        .min(1)
        .describe('Severities that block when an open issue has them.'),
    })
    .describe('Quality assurance (known issues).'),
  signoff: z
    .strictObject({
      required_roles: z.array(z.enum(SIGNOFF_ROLES)).describe('Roles whose approval the gate needs.'),
      allow_self_approval: z.boolean().describe('Whether the requester may sign a role of their own evaluation.'),
      max_age_days: z
        .number()
        .positive()
        .max(3650)
        .describe(
          'Approvals older than this many days no longer count (the role must be signed again); rejections do not expire.',
        ),
      min_approvals: z
        .strictObject({
          technical: minApprovals.optional().describe('Distinct Technical Lead approvals needed.'),
          product: minApprovals.optional().describe('Distinct Product Owner approvals needed.'),
          compliance: minApprovals.optional().describe('Distinct Compliance approvals needed.'),
        })
        .optional()
        .describe(
          'Distinct authorised approvals a role needs (default 1 per role; READINESS_CONFIG roles.<role>.min_approvals). Each person counts once; any rejection still blocks.',
        ),
    })
    .describe('Sign-off rules (team policy only; a run cannot set them).'),
  waivers: z
    .record(
      z.string().regex(/^[a-z_]+\.[a-z_]+$/, { message: 'expected a check id such as test.target' }),
      z
        .array(z.enum(SIGNOFF_ROLES))
        .min(1)
        .refine((roles) => new Set(roles).size === roles.length, { message: 'a role is listed twice' }),
    )
    .describe(
      'Failing checks that may be accepted with stakeholder approval, and the roles that must each approve such a waiver (e.g. test.target: [technical, product]). Team policy only; security findings, integrity (export.provenance) and consistency checks can never be waived. A waiver has a reason, expires after at most 90 days and is bound to the artifact and policy digests.',
    ),
  limits: z
    .strictObject({
      max_text_bytes: z.number().int().positive().describe('Cap for any text/JSON/markdown file read whole.'),
      max_checkpoint_bytes: z.number().int().positive().describe('Cap for a checkpoint file.'),
      max_checkpoint_uncompressed_bytes: z
        .number()
        .int()
        .positive()
        .describe("Cap for the sum of a checkpoint zip's declared uncompressed entry sizes (zip bombs)."),
      max_zip_compression_ratio: z
        .number()
        .positive()
        .describe("Cap for one zip entry's uncompressed/compressed ratio (entries over 1 MiB)."),
      max_pickle_bytes: z
        .number()
        .int()
        .positive()
        .describe("Cap for a checkpoint's data.pkl (the pickle is read whole)."),
      max_testset_inflated_bytes: z
        .number()
        .int()
        .positive()
        .describe(
          'Cap for the declared uncompressed size of one deflated array in a test-set .npz; a larger one is refused as a zip bomb before anything is inflated.',
        ),
      max_onnx_bytes: z.number().int().positive().describe('Cap for an ONNX model (with external data).'),
      max_onnx_nodes: z
        .number()
        .int()
        .positive()
        .describe('Cap for nodes in an ONNX graph (subgraphs included); more is refused as hostile.'),
      max_onnx_attributes: z
        .number()
        .int()
        .positive()
        .describe(
          'Cap for node attributes in an ONNX model (subgraphs and functions included), counted on the protobuf wire before decoding.',
        ),
      max_onnx_tensors: z
        .number()
        .int()
        .positive()
        .describe(
          'Cap for tensors in an ONNX model (initializers, sparse tensors, Constant values, in every subgraph), counted before decoding.',
        ),
      max_onnx_graph_depth: z
        .number()
        .int()
        .positive()
        .max(64)
        .describe('Deepest nesting of ONNX subgraphs (If/Loop/Scan bodies); the main graph is depth 1.'),
      onnx_decode_heap_mb: z
        .number()
        .int()
        .min(64)
        .describe(
          'V8 heap cap (MB) of the worker thread that decodes an untrusted ONNX model; running out ends the check as an error.',
        ),
      check_timeout_s: z
        .strictObject({
          light: positive.describe('Seconds a light check may run (documents, metrics, checkpoints, provenance).'),
          heavy: positive.describe(
            'Seconds a heavy check may run (ONNX parity over the test set, latency load test); past it the check process is killed and restarted.',
          ),
        })
        .describe('Time limit per check; past it the check ends as an error ("exceeded N s") and the queue moves on.'),
      heavy_check_memory_mb: z
        .number()
        .int()
        .min(128)
        .describe(
          'Resident memory (MB) the process running a heavy check may use (onnxruntime included); past it the process is killed and the check ends as an error.',
        ),
    })
    .describe('Caps that protect the gate from hostile or absurd artifacts (team policy only).'),
  paths: PathsSchema.describe('Run-relative path of every artifact (no absolute paths, no "..").'),
  run_overridable: z
    .array(
      z.string().regex(/^[a-z_]+(\.[a-z_]+)*$/, {
        message: 'expected a dotted policy field such as latency.batch_sizes or paths',
      }),
    )
    .describe(
      "Fields (or whole sections, e.g. paths) a run's readiness.yml and command flags may set to any value; every other field may only be made stricter, and paths, severities, the policy name and measurement settings not at all. signoff, limits and name can never be listed.",
    ),
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
    throughput_seconds: 3,
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
  signoff: { required_roles: ['technical', 'product', 'compliance'], allow_self_approval: false, max_age_days: 30 },
  waivers: {},
  limits: {
    max_text_bytes: 8 * 1024 * 1024,
    max_checkpoint_bytes: 4 * 1024 * 1024 * 1024,
    max_checkpoint_uncompressed_bytes: 8 * 1024 * 1024 * 1024,
    max_zip_compression_ratio: 100,
    max_pickle_bytes: 64 * 1024 * 1024,
    max_testset_inflated_bytes: 1024 * 1024 * 1024,
    max_onnx_bytes: 4 * 1024 * 1024 * 1024,
    max_onnx_nodes: 250_000,
    max_onnx_attributes: 1_000_000,
    max_onnx_tensors: 500_000,
    max_onnx_graph_depth: 16,
    onnx_decode_heap_mb: 1024,
    // ResNet-50 on 2 cores: ~35 ms per test image in batches and ~45 ms per single request, so a
    // 10,000-image parity pass is ~6 min and the latency test ~1 min; 15 min leaves 2x headroom.
    check_timeout_s: { light: 120, heavy: 900 },
    // ResNet-50 in onnxruntime at batch 32 peaks under 1.5 GB with Node; 3 GB leaves 2x headroom.
    heavy_check_memory_mb: 3072,
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
  run_overridable: [],
};
