import { namedPolicyLayer, type ReadinessConfig, selectPolicyLayer } from '../config/readiness-config.js';
import type { PolicyLayer } from '../policy/load.js';

/**
 * The team policy an evaluation starts from: `policy` names one of READINESS_CONFIG's policies
 * (without it, the configured default). Where `files` is allowed (the CLI) it may also be a
 * policy file; the Slack app never reads a file a command names.
 */
export async function teamPolicyLayer(
  config: ReadinessConfig,
  policy: string | undefined,
  opts: { files: boolean },
): Promise<PolicyLayer | undefined> {
  if (policy !== undefined && !opts.files) return namedPolicyLayer(config, policy);
  return selectPolicyLayer(config, policy);
}
