import { EvaluationService, type EvaluationServiceDeps } from '../evaluations/service.js';
import type { EvaluationSubmitter } from './services.js';

/**
 * The Slack app's evaluations: the shared evaluation service, where `--policy` names one of the
 * team's policies and never a file (the command parser refuses others too). Checks run on workers.
 */
export class QueueSubmitter extends EvaluationService implements EvaluationSubmitter {
  constructor(deps: Omit<EvaluationServiceDeps, 'policyFiles'>) {
    super({ ...deps, policyFiles: false });
  }
}
