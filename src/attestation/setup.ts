import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ReadinessConfig } from '../config/readiness-config.js';
import { AttestationStore } from '../store/attestations.js';
import type { EvaluationStore } from '../store/redis-store.js';
import { resolveWebhooks } from '../webhooks/config.js';
import { WebhookDispatcher } from '../webhooks/dispatcher.js';
import { type FilesClient, GateHook, type GateObserver } from './gate-hook.js';
import { readSigningKey } from './keys.js';

export interface GateHookSetup {
  redis: Redis;
  prefix: string;
  store: EvaluationStore;
  config: ReadinessConfig;
  log: Logger;
  /** ATTESTATION_SIGNING_KEY_FILE */
  signingKeyFile?: string | undefined;
  lookupEnv: (name: string) => string | undefined;
  webhookBackoffMs?: number;
}

/**
 * Reads the signing key and the webhooks' secrets at start-up (a bad key or a missing secret
 * stops the app naming it) and returns the app's gate observer factory; null when neither an
 * attestation key nor a webhook is configured.
 */
export async function setupGateHook(s: GateHookSetup): Promise<((files: FilesClient) => GateObserver) | null> {
  const key = s.signingKeyFile ? await readSigningKey(s.signingKeyFile, 'ATTESTATION_SIGNING_KEY_FILE') : undefined;
  const hooks = await resolveWebhooks(s.config.webhooks, s.lookupEnv);
  if (!key && hooks.length === 0) return null;
  const log = s.log.child({ component: 'attestation' });
  const webhooks =
    hooks.length > 0
      ? new WebhookDispatcher({
          redis: s.redis,
          prefix: s.prefix,
          hooks,
          store: s.store,
          attestations: new AttestationStore(s.redis, { prefix: s.prefix }),
          log,
          ...(s.webhookBackoffMs !== undefined ? { backoffMs: s.webhookBackoffMs } : {}),
        })
      : undefined;
  if (key) log.info({ keyid: key.keyid }, 'PASSED gates are attested');
  return (files) => new GateHook({ store: s.store, redis: s.redis, prefix: s.prefix, log, key, files, webhooks });
}
